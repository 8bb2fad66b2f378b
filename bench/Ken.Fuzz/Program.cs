using Ken.Format;
using Ken.Format.Checkpoints.Safetensors;
using Ken.Format.Deltas;
using Ken.TestSupport;
using SharpFuzz;

// ken-fuzz seeds <folder>          writes the valid sample files AFL++ starts from
// ken-fuzz ken|safetensors         runs under afl-fuzz: each input is read by that reader
// ken-fuzz ken|safetensors <file>  reads one file (to reproduce a finding)
if (args is ["seeds", var folder])
{
    Directory.CreateDirectory(Path.Combine(folder, "ken"));
    Directory.CreateDirectory(Path.Combine(folder, "safetensors"));
    File.WriteAllBytes(Path.Combine(folder, "ken", "sample.ken"), SampleFiles.KenDelta());
    File.WriteAllBytes(Path.Combine(folder, "safetensors", "sample.safetensors"), SampleFiles.Safetensors());
    return 0;
}

Action<string> read = args.FirstOrDefault() switch
{
    "ken" => path => KenDeltaReader.Read(path),
    "safetensors" => path => SafetensorsFile.Open(path).Dispose(),
    _ => throw new ArgumentException("usage: ken-fuzz seeds <folder> | ken-fuzz (ken|safetensors) [file]"),
};

if (args.Length == 2)
{
    ReadOne(read, args[1]);
    return 0;
}

// The readers take paths (they map the file), so each input goes through one scratch file.
var scratch = Path.Combine(Path.GetTempPath(), $"ken-fuzz-{Environment.ProcessId}.bin");
Fuzzer.OutOfProcess.Run(stream =>
{
    using (var file = File.Create(scratch))
    {
        stream.CopyTo(file);
    }

    ReadOne(read, scratch);
});
return 0;

// A KenException is the documented answer to a bad file; anything else escapes and AFL++ records a crash.
static void ReadOne(Action<string> read, string path)
{
    try
    {
        read(path);
    }
    catch (KenException)
    {
    }
}
