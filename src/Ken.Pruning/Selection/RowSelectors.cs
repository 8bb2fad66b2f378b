using Ken.Format;
namespace Ken.Pruning.Selection;

/// <summary>Creates a selector from its method name (<c>--method</c>, delta metadata) and block size (<c>--block</c>).</summary>
public static class RowSelectors
{
    /// <summary>The method names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Methods { get; } = ["ken", "magnitude", "random"];

    /// <summary>The methods that can select in blocks (<c>--block</c> above 1).</summary>
    public static IReadOnlyList<string> BlockMethods { get; } = ["magnitude", "random"];

    /// <summary>
    /// Returns the selector for <paramref name="method"/>; <paramref name="seed"/> feeds <c>random</c>.
    /// A <paramref name="block"/> above 1 selects aligned blocks of that many elements
    /// (<see cref="BlockSelector"/>); 1 is element-wise.
    /// </summary>
    /// <exception cref="KenException">The method is unknown, the block size is below 1, or the method cannot select in blocks.</exception>
    public static IRowSelector Create(string method, ulong seed, int block = 1)
    {
        ArgumentNullException.ThrowIfNull(method);
        IRowSelector selector = method.ToUpperInvariant() switch
        {
            "KEN" => new KenSelector(),
            "MAGNITUDE" => new MagnitudeSelector(),
            "RANDOM" => new RandomSelector(seed),
            _ => throw new KenException($"unknown selection method '{method}'; valid methods: {string.Join(", ", Methods)}"),
        };
        if (block < 1)
        {
            throw new KenException($"--block {block} is not a valid block size: it must be at least 1 (1 selects element by element).");
        }

        if (block == 1)
        {
            return selector;
        }

        if (selector is KenSelector)
        {
            throw new KenException(
                $"--block {block} cannot be used with --method ken: KEN's rule chooses single elements (it is the paper's); "
                + $"use --method {string.Join(" or ", BlockMethods)} with --block, or drop --block.");
        }

        return new BlockSelector(selector, block);
    }
}
