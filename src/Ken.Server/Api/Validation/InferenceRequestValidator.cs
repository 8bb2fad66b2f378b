using Google.Protobuf.Collections;

using Ken.Format;
using Ken.Server.Hosting;

namespace Ken.Server.Api.Validation;

/// <summary>Input validation of Classify and Embed requests: their texts against the configured limits, before admission.</summary>
public sealed class InferenceRequestValidator
{
    private readonly int _maxTexts;
    private readonly int _maxTextChars;

    public InferenceRequestValidator(KenServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _maxTexts = options.MaxTexts;
        _maxTextChars = options.MaxTextChars;
    }

    /// <summary>Throws <see cref="KenException"/> (INVALID_ARGUMENT) for an empty, oversized or malformed request.</summary>
    public void Validate(RepeatedField<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0)
        {
            throw new KenException("the request has no texts; send at least one text.");
        }

        if (texts.Count > _maxTexts)
        {
            throw new KenException($"the request has {texts.Count} texts, over this server's limit of {_maxTexts} (--max-texts); split it into smaller calls.");
        }

        for (var i = 0; i < texts.Count; i++)
        {
            var text = texts[i];
            if (string.IsNullOrWhiteSpace(text))
            {
                throw new KenException($"text {i} is empty; send non-empty texts only.");
            }

            if (text.Length > _maxTextChars)
            {
                throw new KenException($"text {i} has {text.Length} characters, over this server's limit of {_maxTextChars} (--max-text-chars); shorten or split it.");
            }
        }
    }
}
