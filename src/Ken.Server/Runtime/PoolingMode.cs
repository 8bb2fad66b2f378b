namespace Ken.Server.Runtime;

/// <summary>How one vector per text is taken from the backbone's last hidden state.</summary>
public enum PoolingMode
{
    /// <summary>BERT's pooler: dense layer and tanh over the [CLS] vector (classification models).</summary>
    Pooler,

    /// <summary>The [CLS] token's hidden state.</summary>
    Cls,

    /// <summary>The mean over the text's real tokens (sentence-transformers embedding models).</summary>
    Mean,
}
