namespace Ken.Viz;

/// <summary>The KENviz views.</summary>
public enum VizView
{
    /// <summary>One matrix: kept against reset positions (block densities when large).</summary>
    Matrix,

    /// <summary>One matrix: kept positions by number of kept neighbours, with the histogram.</summary>
    Neighbors,

    /// <summary>The same matrix in every layer, one panel each.</summary>
    Layers,

    /// <summary>Reset share per tensor, per layer and overall.</summary>
    Summary,
}
