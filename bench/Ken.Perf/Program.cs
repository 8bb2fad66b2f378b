namespace Ken.Perf;

internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length >= 2 && args[0] == "gen-bert-base")
        {
            SyntheticBertBase.WritePair(args[1], args.Length >= 3 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 42);
            return 0;
        }

        if (args.Length >= 1 && args[0] == "runtime")
        {
            return RuntimeBenchmark.Run(args[1..]);
        }

        if (args.Length >= 1 && args[0] == "runtime-cause")
        {
            return RuntimeCause.RuntimeCauseBenchmark.Run(args[1..]);
        }

        if (args.Length >= 1 && args[0] == "switch")
        {
            return SwitchBenchmark.Run(args[1..]);
        }

        if (args.Length >= 1 && args[0] == "select")
        {
            return SelectionBenchmark.Run(args);
        }

        if (args.Length >= 3 && args[0] == "select-profile")
        {
            return SelectionBenchmark.Profile(args);
        }

        Console.Error.WriteLine(
            "usage: ken-perf gen-bert-base OUT_DIR [SEED]   (writes base.safetensors, finetuned/ with a classifier head)\n" +
            "       ken-perf runtime [ITERATIONS]           (minilm: bound-weights inference vs the original model, swap cost, start-up)\n" +
            "       ken-perf runtime-cause [ITERATIONS [THREADS]] (minilm: optimized graphs, levels, prepacking and per-op profile, original vs bound weights)\n" +
            "       ken-perf switch [REPS [BLOCKS]]          (minilm: task switch / full weight copy at keep 0.05-0.5, element-wise vs blocks; BLOCKS e.g. 1,16r,16 (default): 16 along the stored layout, 16r along canonical rows)\n" +
            "       ken-perf select [REPS]                   (KEN/magnitude/random ns/element table)\n" +
            "       ken-perf select-profile N KEEP [ROWS]    (one KEN loop, for profilers)");
        return 2;
    }
}
