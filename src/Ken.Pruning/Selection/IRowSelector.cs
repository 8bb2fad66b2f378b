namespace Ken.Pruning.Selection;

/// <summary>
/// Chooses which positions of one weight row keep their fine-tuned value. Every method shares the
/// budget handling (<c>k &gt;= n</c> keeps the whole row, <c>k &lt; 1</c> is an error) and the output:
/// exactly <c>min(k, n)</c> distinct positions, except <see cref="BlockSelector"/>, whose rows keep
/// whole blocks that add up to the budget over the tensor (see <see cref="BlockBudget"/>).
/// </summary>
public interface IRowSelector
{
    /// <summary>The method's name as written in delta metadata (<c>ken</c>, <c>magnitude</c>, <c>random</c>).</summary>
    string Method { get; }

    /// <summary>
    /// Writes the kept positions of the row into <paramref name="positions"/> (length at least
    /// <c>min(k, n)</c>; the row's length for a block selector), in any order, and returns how many were written.
    /// </summary>
    /// <param name="finetuned">The fine-tuned row.</param>
    /// <param name="pretrained">The pre-trained row (same length); KEN ignores it.</param>
    /// <param name="k">The budget.</param>
    /// <param name="rowIndex">The row's index within its tensor (seeds per-row randomness).</param>
    /// <param name="positions">Receives the kept positions.</param>
    int SelectRow(ReadOnlySpan<float> finetuned, ReadOnlySpan<float> pretrained, int k, long rowIndex, Span<int> positions);
}
