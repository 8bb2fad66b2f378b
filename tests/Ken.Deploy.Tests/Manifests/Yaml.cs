using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Ken.Deploy.Tests.Manifests;

/// <summary>YAML documents read into plain dictionaries, lists and strings, with path lookups for the checks.</summary>
internal static class Yaml
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder().Build();

    public static List<Dictionary<object, object>> Documents(string text)
    {
        var parser = new Parser(new StringReader(text));
        parser.Consume<StreamStart>();
        var documents = new List<Dictionary<object, object>>();
        while (parser.Accept<DocumentStart>(out _))
        {
            if (Deserializer.Deserialize<Dictionary<object, object>?>(parser) is { } document)
            {
                documents.Add(document);
            }
        }

        return documents;
    }

    /// <summary>The value at a dotted path of map keys, or null.</summary>
    public static object? At(object? node, string path)
    {
        foreach (string key in path.Split('.'))
        {
            if (node is not Dictionary<object, object> map || !map.TryGetValue(key, out node))
            {
                return null;
            }
        }

        return node;
    }

    public static string? Text(object? node, string path) => At(node, path) as string;

    public static IEnumerable<Dictionary<object, object>> Maps(object? node, string path) =>
        At(node, path) is List<object> list ? list.OfType<Dictionary<object, object>>() : [];

    public static Dictionary<string, string> StringMap(object? node, string path) =>
        At(node, path) is Dictionary<object, object> map ? map.ToDictionary(p => (string)p.Key, p => p.Value as string ?? string.Empty) : [];

    public static IEnumerable<Dictionary<object, object>> OfKind(this IEnumerable<Dictionary<object, object>> documents, string kind) =>
        documents.Where(d => Text(d, "kind") == kind);

    public static string Name(this Dictionary<object, object> document) => Text(document, "metadata.name") ?? string.Empty;
}
