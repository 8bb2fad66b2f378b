using System.Text;

using Grpc.Core;

namespace Ken.Server.Telemetry;

/// <summary>
/// The gRPC names of status codes ("OK", "INVALID_ARGUMENT", ...), as metrics label them. Derived once
/// from <see cref="StatusCode"/>, so a lookup per request neither allocates nor needs a hand-kept table.
/// </summary>
public static class GrpcStatusNames
{
    private static readonly string?[] Names = Build();

    /// <summary>The upper snake case name of <paramref name="status"/>; a code outside the enum reads as its number.</summary>
    public static string Of(StatusCode status)
    {
        var index = (int)status;
        return (uint)index < (uint)Names.Length && Names[index] is { } name
            ? name
            : index.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string?[] Build()
    {
        var codes = Enum.GetValues<StatusCode>();
        var names = new string?[codes.Max(c => (int)c) + 1];
        foreach (var code in codes)
        {
            names[(int)code] = ToUpperSnake(code.ToString());
        }

        return names;
    }

    /// <summary>"DeadlineExceeded" → "DEADLINE_EXCEEDED"; "OK" stays "OK".</summary>
    private static string ToUpperSnake(string pascal)
    {
        var text = new StringBuilder(pascal.Length + 4);
        for (var i = 0; i < pascal.Length; i++)
        {
            var c = pascal[i];
            if (i > 0 && char.IsUpper(c) && char.IsLower(pascal[i - 1]))
            {
                text.Append('_');
            }

            text.Append(char.ToUpperInvariant(c));
        }

        return text.ToString();
    }
}
