namespace Ken.Format.Deltas;

/// <summary>How token states become one vector per text.</summary>
public enum PoolingMode
{
    /// <summary>The model's pooler output (BERT's tanh dense over [CLS]); metadata spelling <c>pooler</c>.</summary>
    Pooler,

    /// <summary>The [CLS] token's last hidden state; metadata spelling <c>cls</c>.</summary>
    Cls,

    /// <summary>Mean of the last hidden states over non-padding tokens; metadata spelling <c>mean</c>.</summary>
    Mean,
}
