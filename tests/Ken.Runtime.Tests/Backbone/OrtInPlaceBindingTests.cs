using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Ken.Runtime.Tests.Backbone;

/// <summary>
/// The trick Ken's slots rely on: weights that are graph inputs, bound once from server-owned memory, are
/// read by ONNX Runtime on every run, so patching the buffer in place changes the next run with no rebind.
/// Data/add_x_w.onnx is <c>Y = Add(X, W)</c>, all three float <c>[2, 3]</c>, W a graph input (see Data/README.md).
/// </summary>
public class OrtInPlaceBindingTests
{
    private static readonly long[] Shape = [2, 3];

    private static string ModelPath => Path.Combine(AppContext.BaseDirectory, "Data", "add_x_w.onnx");

    [Fact]
    public void Cpu_session_reads_bound_managed_buffers_on_every_run_without_rebinding()
    {
        using var session = new InferenceSession(ModelPath);
        float[] x = [1, 2, 3, 4, 5, 6];
        var w = new float[6];
        var y = new float[6];
        using var xValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, x.AsMemory(), Shape);
        using var wValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, w.AsMemory(), Shape);
        using var yValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, y.AsMemory(), Shape);

        // The OrtValue wraps our array itself (pinned), not a copy of it.
        Assert.True(Unsafe.AreSame(ref MemoryMarshal.GetReference(wValue.GetTensorDataAsSpan<float>()), ref w[0]));

        using var binding = session.CreateIoBinding();
        binding.BindInput("X", xValue);
        binding.BindInput("W", wValue);
        binding.BindOutput("Y", yValue);
        using var runOptions = new RunOptions();

        session.RunWithBinding(runOptions, binding);
        Assert.Equal(x, y);

        for (var i = 0; i < w.Length; i++)
        {
            w[i] = 10 * (i + 1);
        }

        session.RunWithBinding(runOptions, binding);
        Assert.Equal([11f, 22, 33, 44, 55, 66], y);

        w[5] = -6;
        x[0] = 100;
        session.RunWithBinding(runOptions, binding);
        Assert.Equal([110f, 22, 33, 44, 55, 0], y);
    }

    [Fact]
    public unsafe void Cpu_session_reads_bound_native_buffers_on_every_run_without_rebinding()
    {
        // Weight buffers of a real backbone are large and long-lived: native, aligned memory keeps them off
        // the GC heap and gives a stable address for the binding's lifetime.
        const int Count = 6;
        const nuint Bytes = Count * sizeof(float);
        var x = (float*)NativeMemory.AlignedAlloc(Bytes, 64);
        var w = (float*)NativeMemory.AlignedAlloc(Bytes, 64);
        var y = (float*)NativeMemory.AlignedAlloc(Bytes, 64);
        try
        {
            var xs = new Span<float>(x, Count);
            var ws = new Span<float>(w, Count);
            var ys = new Span<float>(y, Count);
            xs.Fill(1);
            ws.Fill(2);
            ys.Clear();

            using var session = new InferenceSession(ModelPath);
            using var xValue = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, Shape, (nint)x, (long)Bytes);
            using var wValue = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, Shape, (nint)w, (long)Bytes);
            using var yValue = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, Shape, (nint)y, (long)Bytes);
            using var binding = session.CreateIoBinding();
            binding.BindInput("X", xValue);
            binding.BindInput("W", wValue);
            binding.BindOutput("Y", yValue);
            using var runOptions = new RunOptions();

            session.RunWithBinding(runOptions, binding);
            Assert.Equal(new float[] { 3, 3, 3, 3, 3, 3 }, ys.ToArray());

            ws[2] = 7;
            session.RunWithBinding(runOptions, binding);
            Assert.Equal(new float[] { 3, 3, 8, 3, 3, 3 }, ys.ToArray());
        }
        finally
        {
            NativeMemory.AlignedFree(x);
            NativeMemory.AlignedFree(w);
            NativeMemory.AlignedFree(y);
        }
    }

    [Fact]
    public void Output_bound_to_ort_allocated_memory_is_readable_after_the_run()
    {
        // The server does not know the output shape's batch dimension in advance for every backbone; letting
        // ORT allocate the output is the fallback and must also work on the CPU provider.
        using var session = new InferenceSession(ModelPath);
        float[] x = [1, 2, 3, 4, 5, 6];
        float[] w = [1, 1, 1, 1, 1, 1];
        using var xValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, x.AsMemory(), Shape);
        using var wValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, w.AsMemory(), Shape);
        using var binding = session.CreateIoBinding();
        binding.BindInput("X", xValue);
        binding.BindInput("W", wValue);
        binding.BindOutputToDevice("Y", OrtMemoryInfo.DefaultInstance);
        using var runOptions = new RunOptions();

        session.RunWithBinding(runOptions, binding);

        using var outputs = binding.GetOutputValues();
        Assert.Equal([2f, 3, 4, 5, 6, 7], outputs[0].GetTensorDataAsSpan<float>().ToArray());
        Assert.Equal(Shape, outputs[0].GetTensorTypeAndShape().Shape);
    }
}
