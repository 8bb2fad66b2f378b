using System.Text.Json;

namespace Ken.Format.Checkpoints;

/// <summary>
/// The sequence length a fine-tuned model was trained at: <c>max_length</c> in its <c>config.json</c>
/// (written by the fixtures' trainer and by <c>ken finetune</c>), the length to evaluate and to recover at.
/// </summary>
public static class TrainingLength
{
    /// <summary>The positive <c>max_length</c> of <paramref name="configJson"/>; null when there is none or the JSON is unreadable.</summary>
    public static int? Of(string? configJson)
    {
        if (configJson is null)
        {
            return null;
        }

        try
        {
            using var config = JsonDocument.Parse(configJson);
            return config.RootElement.ValueKind == JsonValueKind.Object && config.RootElement.TryGetProperty("max_length", out var length)
                && length.ValueKind == JsonValueKind.Number && length.TryGetInt32(out int n) && n > 0 ? n : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
