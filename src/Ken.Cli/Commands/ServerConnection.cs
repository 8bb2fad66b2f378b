using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using Ken.Client;
using Ken.Format;

namespace Ken.Cli.Commands;

/// <summary>
/// The flags every server command shares (<c>--server</c>, <c>--token</c>, <c>--data-dir</c>,
/// <c>--timeout</c>), how they resolve, and how gRPC failures become one-line CLI errors.
/// </summary>
internal sealed class ServerConnection
{
    private readonly Option<string?> serverOption = new("--server") { Description = "Server gRPC address (default: $KEN_SERVER or " + KenClientOptions.DefaultAddress + ")." };
    private readonly Option<string?> tokenOption = new("--token") { Description = "Registry admin token (default: $KEN_TOKEN, else <data-dir>/admin.token of a local server)." };
    private readonly Option<string?> dataDirOption = new("--data-dir") { Description = "A local server's data directory, to read its admin.token (default: $KEN_DATA_DIR or the server's default)." };
    private readonly Option<string?> caCertOption = new("--ca-cert") { Description = "PEM file of the certificate (or CA) to trust for an https:// --server, e.g. the server's --tls-cert." };
    private readonly Option<string?> inferenceTokenOption = new("--inference-token") { Description = "Tenant token for classify/embed on a server with --tenant-tokens (default: $KEN_INFERENCE_TOKEN)." };
    private readonly Option<double> timeoutOption = new("--timeout") { Description = "Seconds to wait for each call.", DefaultValueFactory = _ => 30 };

    public void AddTo(Command command)
    {
        command.Options.Add(serverOption);
        command.Options.Add(tokenOption);
        command.Options.Add(dataDirOption);
        command.Options.Add(timeoutOption);
        command.Options.Add(caCertOption);
        command.Options.Add(inferenceTokenOption);
    }

    public string Address(ParseResult parse)
    {
        string? address = parse.GetValue(serverOption);
        if (string.IsNullOrWhiteSpace(address))
        {
            address = Environment.GetEnvironmentVariable("KEN_SERVER");
        }

        return string.IsNullOrWhiteSpace(address) ? KenClientOptions.DefaultAddress : address.Trim();
    }

    public KenClient Connect(ParseResult parse, int maxRetries = 3)
    {
        string address = Address(parse);
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new UsageException($"--server \"{address}\" is not a URL; pass one like http://127.0.0.1:5000.");
        }

        double timeout = parse.GetValue(timeoutOption);
        if (!(timeout > 0))
        {
            throw new UsageException("--timeout must be a positive number of seconds.");
        }

        string? caCert = parse.GetValue(caCertOption);
        if (caCert is not null && !File.Exists(caCert))
        {
            throw new UsageException($"--ca-cert {caCert} does not exist; pass the PEM file of the server's certificate or its CA.");
        }

        string? inferenceToken = parse.GetValue(inferenceTokenOption);
        if (string.IsNullOrWhiteSpace(inferenceToken))
        {
            inferenceToken = Environment.GetEnvironmentVariable("KEN_INFERENCE_TOKEN");
        }

        return new KenClient(new KenClientOptions
        {
            Address = address,
            AdminToken = Token(parse, uri),
            InferenceToken = string.IsNullOrWhiteSpace(inferenceToken) ? null : inferenceToken.Trim(),
            TrustedCertificatePath = caCert,
            Timeout = TimeSpan.FromSeconds(timeout),
            MaxRetries = maxRetries,
        });
    }

    /// <summary>Runs <paramref name="action"/> against the server, turning gRPC failures into a <see cref="KenException"/>.</summary>
    public int Run(ParseResult parse, Func<KenClient, CancellationToken, Task<int>> action, int maxRetries = 3)
    {
        using var client = Connect(parse, maxRetries);
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            return action(client, cancel.Token).GetAwaiter().GetResult();
        }
        catch (RpcException e)
        {
            throw new KenException(Describe(e, client.Address), e);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>One line: what failed, the gRPC status, and what to do.</summary>
    public static string Describe(RpcException e, string address)
    {
        string detail = e.Status.Detail.TrimEnd();
        if (IsTlsFailure(e))
        {
            return $"the TLS handshake with {address} failed: this machine does not trust the server's certificate; pass --ca-cert with the server's certificate (its --tls-cert) or its CA.";
        }

        return e.StatusCode switch
        {
            StatusCode.Unavailable when e.Status.DebugException is not null || detail.Contains("connect", StringComparison.OrdinalIgnoreCase) =>
                $"server unreachable at {address} (Unavailable); start it with `dotnet run --project src/Ken.Server` or pass --server.",
            StatusCode.Unavailable => $"{detail} (Unavailable); retry later or pass another --server.",
            StatusCode.DeadlineExceeded => $"no reply from {address} in time (DeadlineExceeded); pass a longer --timeout or retry when the server is less busy.",
            StatusCode.Unauthenticated when detail.Contains("tenant token", StringComparison.Ordinal) => $"{detail} (Unauthenticated); pass --inference-token or set KEN_INFERENCE_TOKEN.",
            StatusCode.Unauthenticated => $"{detail} (Unauthenticated); pass --token or set KEN_TOKEN, or --data-dir for a local server.",
            StatusCode.PermissionDenied => $"{detail} (PermissionDenied); pass the right --token.",
            StatusCode.Internal when detail.Length == 0 || detail.StartsWith("Error starting gRPC call", StringComparison.Ordinal) =>
                $"the call to {address} failed (Internal: {FirstLine(detail)}); check that --server points at a Ken server's gRPC port.",
            _ when detail.Length == 0 => $"the call to {address} ended with {e.StatusCode} and no message; retry, and check the server log if it persists.",
            _ => $"{FirstLine(detail)} ({e.StatusCode})",
        };
    }

    private static bool IsTlsFailure(RpcException e)
    {
        for (Exception? inner = e.Status.DebugException; inner is not null; inner = inner.InnerException)
        {
            if (inner is System.Security.Authentication.AuthenticationException)
            {
                return true;
            }
        }

        return false;
    }

    private static string FirstLine(string text)
    {
        int newline = text.IndexOf('\n', StringComparison.Ordinal);
        return newline < 0 ? text : text[..newline];
    }

    private string? Token(ParseResult parse, Uri server)
    {
        string? token = parse.GetValue(tokenOption);
        if (string.IsNullOrWhiteSpace(token))
        {
            token = Environment.GetEnvironmentVariable("KEN_TOKEN");
        }

        if (!string.IsNullOrWhiteSpace(token))
        {
            return token.Trim();
        }

        // Only a server on this machine can have written its token into a local data directory.
        if (!server.IsLoopback)
        {
            return null;
        }

        string? dataDir = parse.GetValue(dataDirOption);
        if (string.IsNullOrWhiteSpace(dataDir))
        {
            dataDir = Environment.GetEnvironmentVariable("KEN_DATA_DIR");
        }

        if (string.IsNullOrWhiteSpace(dataDir))
        {
            // The server's default (KenServerOptions.DefaultDataDir).
            dataDir = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "ken");
        }

        string path = Path.Combine(dataDir, "admin.token");
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KenException(string.Create(CultureInfo.InvariantCulture, $"cannot read the admin token {path} ({e.Message}); pass --token or set KEN_TOKEN."), e);
        }
    }
}
