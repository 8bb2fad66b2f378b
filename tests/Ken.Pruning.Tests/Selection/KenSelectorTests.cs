using Ken.Pruning.Selection;

namespace Ken.Pruning.Tests.Selection;

public class KenSelectorTests
{
    private readonly KenSelector selector = new();

    public static TheoryData<string> PublicCaseNames() => new(KenParityFixtures.Public.Keys.Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(PublicCaseNames))]
    public void Public_fixture_case_keeps_exactly_the_expected_positions(string name)
    {
        KenParityCase c = KenParityFixtures.Public[name];
        int[] actual = Select(c.Row, c.K);
        int[] expected = [.. c.Expected!.Order()];
        Assert.Equal(KenParityCaseFormatting.Describe(expected), KenParityCaseFormatting.Describe(actual));
    }

    [Theory]
    [InlineData("syn:tiny_n1_k2")]
    [InlineData("syn:tiny_n2_k3")]
    [InlineData("syn:tiny_n3_k4")]
    [InlineData("syn:tiny_n8_k9")]
    [InlineData("syn:tie_f32_pair")]
    public void Budget_at_least_row_length_keeps_the_whole_row(string name)
    {
        KenParityCase c = KenParityFixtures.Errors[name];
        Assert.Equal(Enumerable.Range(0, c.Row.Length), Select(c.Row, c.K));
    }

    [Theory]
    [InlineData("syn:tiny_n1_k1")]
    [InlineData("syn:single_value_k1")]
    [InlineData("syn:constant_3")]
    [InlineData("syn:constant_zero_384")]
    public void Constant_row_keeps_the_first_k_positions(string name)
    {
        KenParityCase c = KenParityFixtures.Errors[name];
        Assert.Equal(Enumerable.Range(0, Math.Min(c.K, c.Row.Length)), Select(c.Row, c.K));
    }

    [Fact]
    public void Constant_row_of_signed_zeros_keeps_the_first_k_positions() =>
        Assert.Equal([0, 1], Select([0f, -0f, 0f, -0f], 2));

    [Theory]
    [InlineData("syn:has_inf", 1)]
    [InlineData("syn:has_nan", 1)]
    public void Non_finite_value_throws_naming_row_and_position(string name, int position)
    {
        KenParityCase c = KenParityFixtures.Errors[name];
        var positions = new int[c.Row.Length];
        var ex = Assert.Throws<NonFiniteValueException>(() => selector.SelectRow(c.Row, c.Row, c.K, 17, positions));
        Assert.Equal(17, ex.RowIndex);
        Assert.Equal(position, ex.Position);
        Assert.StartsWith($"row 17 position {position} holds", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Zero_budget_throws()
    {
        KenParityCase c = KenParityFixtures.Errors["syn:k0"];
        Assert.Throws<ArgumentOutOfRangeException>(() => Select(c.Row, c.K));
    }

    [Theory]
    [MemberData(nameof(RandomRowSeeds))]
    public void Matches_the_naive_rule_on_random_rows(int seed)
    {
        var rng = new Random(seed);
        int shape = seed % 6;
        int n = shape switch
        {
            0 => rng.Next(2, 12),
            1 => rng.Next(12, 200),
            2 => 384,
            3 => 768,
            4 => rng.Next(200, 1000),
            _ => seed % 30 == 5 ? 3072 : rng.Next(2, 64),
        };
        float[] row = RandomRow(rng, n, seed / 6 % 7);
        if (seed % 4 == 3)
        {
            // Shuffled, so ties are not always won by the value that sorts first.
            rng.Shuffle(row);
        }

        int k = Math.Max(1, rng.Next(3) switch { 0 => n / 2, 1 => rng.Next(1, n + 1), _ => n / 4 });

        int[] expected = [.. NaiveKen.Select(row, k).Order()];
        int[] actual = Select(row, k);
        Assert.Equal(KenParityCaseFormatting.Describe(expected), KenParityCaseFormatting.Describe(actual));
    }

    public static TheoryData<int> RandomRowSeeds() => new(Enumerable.Range(0, 300));

    [Theory]
    [InlineData(4500, 0)]
    [InlineData(4500, 3)]
    [InlineData(9000, 2)]
    public void Matches_the_naive_rule_on_rows_longer_than_one_summary_word(int n, int kind)
    {
        // Rows over 4096 values use more than one summary word of the untaken-slot bitset.
        var rng = new Random(n + kind);
        float[] row = RandomRow(rng, n, kind);
        int k = n / 2;
        int[] expected = [.. NaiveKen.Select(row, k).Order()];
        Assert.Equal(KenParityCaseFormatting.Describe(expected), KenParityCaseFormatting.Describe(Select(row, k)));
    }

    [Fact]
    public void Writes_distinct_positions_in_range_and_reuses_buffers_across_sizes()
    {
        var rng = new Random(7);
        foreach (int n in new[] { 3072, 5, 768, 3072, 2 })
        {
            float[] row = RandomRow(rng, n, 0);
            int[] actual = Select(row, n / 2 == 0 ? 1 : n / 2);
            Assert.Equal(actual.Length, actual.Distinct().Count());
            Assert.All(actual, p => Assert.InRange(p, 0, n - 1));
            Assert.Equal(NaiveKen.Select(row, actual.Length).Order(), actual);
        }
    }

    private static float[] RandomRow(Random rng, int n, int kind)
    {
        var row = new float[n];
        for (int i = 0; i < n; i++)
        {
            double normal = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            row[i] = kind switch
            {
                // Heavy tail: a Cauchy-like ratio, clipped so the row stays finite.
                1 => (float)Math.Clamp(normal / Math.Max(1e-3, Math.Abs(rng.NextDouble() - 0.5)) * 0.01, -50, 50),

                // Few distinct values: many duplicates and exact zeros.
                2 => (float)(rng.Next(-3, 4) * 0.125),

                // Values on a coarse lattice, so float32 distance ties are common.
                3 => (float)(Math.Round(normal * 64) / 64),

                // Tiny scale: huge densities.
                4 => (float)(normal * 1e-6),

                // Distinct lattice values: grid points fall midway between two values.
                5 => (float)((i - (n / 2)) * 0.25),

                // A tight cluster plus far values: far grid points see cluster values at equal
                // float32 distances although the values differ.
                6 => i % 2 == 0 ? (float)(1e-9 * rng.Next(0, 50)) : (float)(normal * 0.5),
                _ => (float)(normal * 0.04),
            };
        }

        return row;
    }

    private int[] Select(float[] row, int k)
    {
        var positions = new int[Math.Min(k, row.Length)];
        int count = selector.SelectRow(row, row, k, 0, positions);
        Assert.Equal(positions.Length, count);
        return [.. positions.Order()];
    }
}
