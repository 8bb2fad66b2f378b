using Google.Protobuf;
using Ken.Format.Checkpoints.Onnx;
using Ken.Format.Checkpoints.Onnx.Proto;
using Ken.Format.Checkpoints.Safetensors;
using Ken.Format.Deltas;
using Ken.Format.Tests.Checkpoints;
using Ken.TestSupport;

namespace Ken.Format.Tests.Corpus;

/// <summary>
/// The readers against a deterministic corpus of mutated files (9,000 here, the tokenizer's texts in
/// Ken.Runtime.Tests): every bad input is a <see cref="KenException"/> with a message, none takes a
/// second, none allocates beyond a small multiple of its size. Each test prints its figures.
/// </summary>
public sealed class ReaderCorpusTests
{
    /// <summary>Generous: inputs are under 2 KB and read in well under a millisecond; a reader that loops on a claimed size does not finish.</summary>
    private static readonly TimeSpan PerInputLimit = TimeSpan.FromSeconds(1);

    [Fact]
    public void Mutated_ken_files_are_read_or_refused_with_a_KenException()
    {
        var result = new MutationCorpus("ken", path => KenDeltaReader.Read(path)).Run(SampleFiles.KenDelta(), 4000, firstSeed: 0);
        Report(result);
    }

    [Fact]
    public void Mutated_safetensors_files_are_read_or_refused_with_a_KenException()
    {
        var result = new MutationCorpus("safetensors", ReadSafetensors).Run(SampleFiles.Safetensors(), 3000, firstSeed: 100_000);
        Report(result);
    }

    [Fact]
    public void Mutated_onnx_files_are_read_or_refused_with_a_KenException()
    {
        var result = new MutationCorpus("onnx", ReadOnnx).Run(SampleOnnx(), 2000, firstSeed: 200_000);
        Report(result);
    }

    private static void ReadSafetensors(string path)
    {
        using var file = SafetensorsFile.Open(path);
        foreach (var tensor in file.Tensors)
        {
            _ = file.ReadFloat32(tensor.Name);
        }
    }

    private static void ReadOnnx(string path)
    {
        using var checkpoint = OnnxCheckpoint.Open(path);
        foreach (var tensor in checkpoint.Tensors)
        {
            var data = new float[tensor.ElementCount];
            checkpoint.ReadFloat32(tensor.Name, data);
        }
    }

    /// <summary>A small exported-looking model: raw and typed float data, a transposed MatMul weight, a Gemm and an int64 constant.</summary>
    private static byte[] SampleOnnx()
    {
        var typed = new TensorProto { Name = "layer.out.bias", DataType = (int)TensorProto.Types.DataType.Float };
        typed.Dims.Add(2);
        typed.FloatData.AddRange([1f, 2f]);
        var shape = new TensorProto { Name = "shape", DataType = (int)TensorProto.Types.DataType.Int64 };
        shape.Dims.Add(2);
        shape.Int64Data.AddRange([1L, 2L]);
        return new OnnxModelBuilder()
            .Float("927", [2, 3], OnnxModelBuilder.Sequence(6))
            .Float("layer.dense.bias", [3], [0.5f, 0.25f, 0.125f])
            .Float("onnx::MatMul_788", [3, 2], OnnxModelBuilder.Sequence(6, 100))
            .Initializer(typed)
            .Initializer(shape)
            .Float("onnx::Gemm_5", [3, 2], OnnxModelBuilder.Sequence(6))
            .Node("MatMul", ["x", "927"], "h")
            .Node("Add", ["h", "layer.dense.bias"], "h2")
            .Node("MatMul", ["h2", "onnx::MatMul_788"], "h3")
            .Node("Add", ["h3", "layer.out.bias"], "y")
            .Node("Gemm", ["x", "onnx::Gemm_5"], "z", OnnxModelBuilder.Int("transB", 1))
            .Build()
            .ToByteArray();
    }

    private static void Report(CorpusResult result)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(result.ToString());
        Console.WriteLine(result.ToString());
        Assert.True(result.Rejected > result.Inputs / 2, $"most mutations should be refused: {result}");
        Assert.True(result.MaxMilliseconds < PerInputLimit.TotalMilliseconds, result.ToString());
    }
}
