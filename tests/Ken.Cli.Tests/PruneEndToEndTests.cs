using System.Text.Json;
using Ken.Format.Checkpoints;
using Ken.Format.Checkpoints.Safetensors;
using Ken.Format.Deltas;

namespace Ken.Cli.Tests;

public sealed class PruneEndToEndTests(PruneEndToEndFixture fx) : IClassFixture<PruneEndToEndFixture>
{
    [Fact]
    public void Prune_of_arctic_against_minilm_succeeds()
    {
        Assert.True(fx.Prune.ExitCode == 0, fx.Prune.Stderr);
        Assert.Contains("wrote", fx.Prune.Stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(fx.DeltaPath));
    }

    [Fact]
    public void Delta_keeps_half_of_every_row_and_records_its_metadata()
    {
        var delta = KenDeltaReader.Read(fx.DeltaPath);
        Assert.Equal(TaskKind.Embedding, delta.Metadata.Kind);
        Assert.Equal(PoolingMode.Cls, delta.Metadata.Pooling);
        Assert.True(delta.Metadata.Normalize);
        Assert.Equal(0.5, delta.Metadata.Keep);
        Assert.Equal("ken", delta.Metadata.Method);
        Assert.NotEmpty(delta.PatchedTensors);
        foreach (var t in delta.PatchedTensors)
        {
            long n = t.Shape.Count == 0 ? 1 : t.Shape[^1];
            long rows = t.ElementCount / n;
            long perRow = (long)Math.Round(0.5 * n, MidpointRounding.AwayFromZero);
            Assert.Equal(rows * perRow, t.KeptCount);
            Assert.NotEqual(0UL, t.BaseFingerprint);
        }
    }

    [Fact]
    public void Apply_puts_finetuned_values_at_kept_positions_and_base_values_elsewhere()
    {
        Assert.True(fx.Apply.ExitCode == 0, fx.Apply.Stderr);
        var delta = KenDeltaReader.Read(fx.DeltaPath);
        using var applied = SafetensorsFile.Open(fx.AppliedPath);
        using var baseModel = CheckpointLoader.Open("minilm");
        using var finetuned = CheckpointLoader.Open("arctic-xs");
        var patched = new Dictionary<string, PatchedTensor>(StringComparer.Ordinal);
        foreach (var t in delta.PatchedTensors)
        {
            patched[t.Name] = t;
        }

        int patchedSeen = 0;
        foreach (var info in baseModel.Tensors)
        {
            var b = new float[info.ElementCount];
            var a = new float[info.ElementCount];
            baseModel.ReadFloat32(info.Name, b);
            applied.ReadFloat32(info.Name, a);
            if (!patched.TryGetValue(info.Name, out var t))
            {
                Assert.Equal(b, a);
                continue;
            }

            patchedSeen++;
            var f = new float[info.ElementCount];
            finetuned.ReadFloat32(info.Name, f);
            for (int i = 0; i < a.Length; i++)
            {
                bool kept = (t.Mask[i >> 3] & (1 << (i & 7))) != 0;
                float expected = kept ? f[i] : b[i];
                if (BitConverter.SingleToInt32Bits(expected) != BitConverter.SingleToInt32Bits(a[i]))
                {
                    Assert.Fail($"{info.Name}[{i}] (kept={kept}): expected {expected}, got {a[i]}");
                }
            }
        }

        Assert.Equal(delta.PatchedTensors.Count, patchedSeen);
    }

    [Fact]
    public void Inspect_prints_a_table_and_parseable_json()
    {
        var table = CliRunner.Run("inspect", fx.DeltaPath);
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("encoder.layer.0.attention.self.query.weight", table.Stdout, StringComparison.Ordinal);
        Assert.Contains("file size", table.Stdout, StringComparison.Ordinal);

        var json = CliRunner.Run("inspect", fx.DeltaPath, "--json");
        Assert.Equal(0, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Stdout);
        double kept = doc.RootElement.GetProperty("kept_fraction").GetDouble();
        Assert.InRange(kept, 0.49, 0.51);
        Assert.Equal("ken-delta", doc.RootElement.GetProperty("metadata").GetProperty("format").GetString());
    }

    [Fact]
    public void Apply_refuses_a_delta_built_against_another_base()
    {
        var result = CliRunner.Run("apply", "--base", "arctic-xs", "--delta", fx.DeltaPath, "-o", fx.NewPath("wrong.safetensors"));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("another base", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(fx.NewPath("wrong.safetensors")));
    }
}
