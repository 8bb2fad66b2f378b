namespace Ken.Runtime.Tokenization;

/// <summary>
/// Decides from a WordPiece vocabulary whether the model was trained on lowercased text. Uncased BERT
/// vocabularies (Hugging Face <c>do_lower_case=True</c>) contain no token that lowercasing would change,
/// apart from bracketed special tokens such as [CLS]; cased ones contain thousands.
/// </summary>
internal static class VocabularyCasing
{
    public static bool IsCased(IReadOnlyList<string> tokens)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (IsSpecial(token))
            {
                continue;
            }

            foreach (var c in token)
            {
                // Compare against the lowercase form rather than char.IsUpper: uncased vocabularies
                // still hold symbols such as U+211D (double-struck R) that are category Lu but have
                // no lowercase, and lowercasing input can never produce anything but themselves.
                if (char.ToLowerInvariant(c) != c)
                {
                    return true;
                }
            }
        }

        return false;
    }

    public static bool IsSpecial(string token) =>
        token.Length > 2 && token[0] == '[' && token[^1] == ']';
}
