using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;
using Ken.V1;

namespace Ken.Client;

/// <summary>
/// A typed client for a Ken server: inference, the task registry and health, with per-call
/// deadlines and bounded retries of UNAVAILABLE. Failures surface as <see cref="RpcException"/>
/// carrying the server's status (NOT_FOUND, INVALID_ARGUMENT, RESOURCE_EXHAUSTED, ...) and a
/// message that says what to do. Thread-safe; share one instance per server for the life of the
/// application, and dispose it at the end.
/// </summary>
public sealed class KenClient : IDisposable
{
    /// <summary>Request header naming the task, so a load balancer can route by task without parsing the body.</summary>
    public const string TaskHeader = "ken-task";

    /// <summary>Trailer of a RESOURCE_EXHAUSTED reply: whole milliseconds to wait before retrying (gRPC's retry-pushback convention).</summary>
    public const string RetryPushbackTrailer = "grpc-retry-pushback-ms";

    /// <summary>Trailer of a successful inference reply: the milliseconds the request waited in the server's queue.</summary>
    public const string QueueWaitTrailer = "ken-queue-wait-ms";

    private readonly KenClientOptions options;
    private readonly GrpcChannel channel;
    private readonly bool ownsChannel;
    private readonly Inference.InferenceClient inference;
    private readonly Registry.RegistryClient registry;
    private readonly Health.HealthClient health;

    /// <summary>Creates a client with its own channel to <see cref="KenClientOptions.Address"/>.</summary>
    /// <exception cref="ArgumentException">The address is not an http:// or https:// URL, or an option is out of range.</exception>
    public KenClient(KenClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (!Uri.TryCreate(options.Address, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"server address \"{options.Address}\" is not an http:// or https:// URL.", nameof(options));
        }

        this.options = options;
        channel = GrpcChannel.ForAddress(uri, new GrpcChannelOptions
        {
            ServiceConfig = RetryConfig(options),
            MaxRetryAttempts = options.MaxRetries + 1,
            MaxReceiveMessageSize = 64 << 20,
            HttpHandler = options.TrustedCertificatePath is { } trusted ? TrustedCertificates.Handler(trusted) : null,
            DisposeHttpClient = true,
        });
        ownsChannel = true;
        inference = new Inference.InferenceClient(channel);
        registry = new Registry.RegistryClient(channel);
        health = new Health.HealthClient(channel);
    }

    /// <summary>Creates a client with its own channel to <paramref name="address"/> and default options otherwise.</summary>
    /// <param name="address">The server's gRPC endpoint, e.g. <c>http://127.0.0.1:5000</c>.</param>
    /// <param name="adminToken">The registry's admin token; null for inference only.</param>
    public KenClient(string address, string? adminToken = null)
        : this(new KenClientOptions { Address = address, AdminToken = adminToken })
    {
    }

    /// <summary>
    /// Creates a client over a channel the caller configured (TLS, handlers, retries) and keeps
    /// owning: disposing this client leaves <paramref name="channel"/> open. Deadlines, the admin
    /// token and the upload chunk size come from <paramref name="options"/>; its address and retry
    /// settings are ignored, since the channel already has both.
    /// </summary>
    public KenClient(GrpcChannel channel, KenClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(channel);
        options ??= new KenClientOptions();
        options.Validate();
        this.options = options with { Address = channel.Target };
        this.channel = channel;
        ownsChannel = false;
        inference = new Inference.InferenceClient(channel);
        registry = new Registry.RegistryClient(channel);
        health = new Health.HealthClient(channel);
    }

    /// <summary>The server this client talks to: the configured address, or a given channel's target (host:port).</summary>
    public string Address => options.Address;

    /// <summary>
    /// How long the server asked the caller to wait before retrying a call it refused as overloaded
    /// (RESOURCE_EXHAUSTED with a <c>grpc-retry-pushback-ms</c> trailer); null when it gave no hint.
    /// </summary>
    public static TimeSpan? RetryPushback(RpcException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.Trailers.GetValue(RetryPushbackTrailer) is { } text
            && long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ms)
            ? TimeSpan.FromMilliseconds(ms)
            : null;
    }

    /// <summary>
    /// Classifies <paramref name="texts"/> with a classification task: per text, a label and every label's score.
    /// The reply's <c>Generation</c> names the version of the task that served every result.
    /// </summary>
    /// <param name="task">A registered classification task.</param>
    /// <param name="texts">The texts, in order; the reply keeps the order.</param>
    /// <param name="topK">Scores to return per text, best first; 0 returns every label's, in label order.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="RpcException">NOT_FOUND for an unknown task, INVALID_ARGUMENT for an embedding task or bad input, RESOURCE_EXHAUSTED when the server sheds load (<see cref="RetryPushback"/> says when to retry).</exception>
    public async Task<ClassifyResponse> ClassifyAsync(string task, IEnumerable<string> texts, uint topK = 0, CancellationToken cancellationToken = default)
    {
        var request = new ClassifyRequest { Task = task, TopK = topK };
        request.Texts.AddRange(texts);
        return await inference.ClassifyAsync(request, TaskHeaders(task), Deadline(), cancellationToken);
    }

    /// <summary>
    /// Embeds <paramref name="texts"/> with an embedding task: one vector per text, in order. The reply's
    /// <c>Generation</c> names the version of the task that served every vector.
    /// </summary>
    /// <param name="task">A registered embedding task.</param>
    /// <param name="texts">The texts, in order; the reply keeps the order.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="RpcException">NOT_FOUND for an unknown task, INVALID_ARGUMENT for bad input, RESOURCE_EXHAUSTED when the server sheds load (<see cref="RetryPushback"/> says when to retry).</exception>
    public async Task<EmbedResponse> EmbedAsync(string task, IEnumerable<string> texts, CancellationToken cancellationToken = default)
    {
        var request = new EmbedRequest { Task = task };
        request.Texts.AddRange(texts);
        return await inference.EmbedAsync(request, TaskHeaders(task), Deadline(), cancellationToken);
    }

    /// <summary>
    /// Uploads a <c>.ken</c> file under <paramref name="name"/>: a header with its size and SHA-256,
    /// then the bytes in chunks. The task is visible once this returns.
    /// </summary>
    /// <param name="path">The <c>.ken</c> file, as written by <c>ken prune</c>.</param>
    /// <param name="name">The task's name on the server.</param>
    /// <param name="overwrite">Replace a task of that name instead of failing with ALREADY_EXISTS.</param>
    /// <param name="pin">Keep the task in host memory regardless of the server's host budget.</param>
    /// <param name="progress">Receives the bytes sent so far after each chunk.</param>
    /// <param name="cancellationToken">Cancels the upload; the server then keeps nothing.</param>
    /// <returns>The registered task as the server describes it.</returns>
    /// <exception cref="RpcException">ALREADY_EXISTS, INVALID_ARGUMENT (a file that fails validation or its checksum), FAILED_PRECONDITION (a delta built for another base), UNAUTHENTICATED or PERMISSION_DENIED (admin token).</exception>
    public async Task<TaskInfo> RegisterAsync(string path, string name, bool overwrite = false, bool pin = false, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        // Hash first: the header carries the checksum, and the server checks it before the task goes live.
        string sha256;
        long size;
        await using (var hashStream = File.OpenRead(path))
        {
            size = hashStream.Length;
            sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(hashStream, cancellationToken));
        }

        var headers = AdminHeaders();
        headers.Add(TaskHeader, name);
        using var call = registry.RegisterTask(headers, DateTime.UtcNow + options.UploadTimeout, cancellationToken);
        await call.RequestStream.WriteAsync(new RegisterTaskRequest
        {
            Header = new RegisterTaskHeader { Name = name, Overwrite = overwrite, Pin = pin, SizeBytes = (ulong)size, Sha256 = sha256 },
        }, cancellationToken);

        // The server may answer before the upload ends (ALREADY_EXISTS right after the header, a size
        // limit mid-way). A write then fails saying only "cancelled", or, when it was waiting for HTTP/2
        // flow control that the finished server will never grant, does not return at all; so the sending
        // races the reply, and an early reply stops the sending and is the error reported.
        using var sending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var send = SendAllAsync(call.RequestStream, path, progress, sending.Token);
        if (await Task.WhenAny(send, call.ResponseAsync) != send)
        {
            await sending.CancelAsync();
            try
            {
                await send;
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // The write that was cut short; the reply below is what happened.
            }

            return await call.ResponseAsync;
        }

        try
        {
            await send;
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            await call.ResponseAsync;
            throw;
        }

        return await call;
    }

    private async Task SendAllAsync(IClientStreamWriter<RegisterTaskRequest> requests, string path, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        await SendChunksAsync(requests, path, progress, cancellationToken);
        await requests.CompleteAsync();
    }

    private async Task SendChunksAsync(IClientStreamWriter<RegisterTaskRequest> requests, string path, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        await using (var stream = File.OpenRead(path))
        {
            var buffer = new byte[Math.Max(1, options.UploadChunkBytes)];
            long sent = 0;
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await requests.WriteAsync(new RegisterTaskRequest { Chunk = ByteString.CopyFrom(buffer, 0, read) }, cancellationToken);
                sent += read;
                progress?.Report(sent);
            }
        }
    }

    /// <summary>Removes a task; requests for it then fail with NOT_FOUND.</summary>
    /// <exception cref="RpcException">NOT_FOUND for an unknown task; UNAUTHENTICATED or PERMISSION_DENIED (admin token).</exception>
    public async Task UnregisterAsync(string name, CancellationToken cancellationToken = default) =>
        await registry.UnregisterTaskAsync(new UnregisterTaskRequest { Name = name }, AdminHeaders(), Deadline(), cancellationToken);

    /// <summary>Every registered task.</summary>
    /// <exception cref="RpcException">UNAUTHENTICATED or PERMISSION_DENIED (admin token).</exception>
    public async Task<IReadOnlyList<TaskInfo>> ListTasksAsync(CancellationToken cancellationToken = default)
    {
        var response = await registry.ListTasksAsync(new ListTasksRequest(), AdminHeaders(), Deadline(), cancellationToken);
        return response.Tasks;
    }

    /// <summary>One task: kind, labels, budget, size, residency tier and counters.</summary>
    /// <exception cref="RpcException">NOT_FOUND for an unknown task; UNAUTHENTICATED or PERMISSION_DENIED (admin token).</exception>
    public async Task<TaskInfo> GetTaskAsync(string name, CancellationToken cancellationToken = default) =>
        await registry.GetTaskAsync(new GetTaskRequest { Name = name }, AdminHeaders(), Deadline(), cancellationToken);

    /// <summary>The server's overall health (<c>grpc.health.v1</c>, service "").</summary>
    public async Task<HealthCheckResponse.Types.ServingStatus> CheckHealthAsync(CancellationToken cancellationToken = default)
    {
        var response = await health.CheckAsync(new HealthCheckRequest { Service = string.Empty }, deadline: Deadline(), cancellationToken: cancellationToken);
        return response.Status;
    }

    /// <summary>
    /// Closes the channel this client created (calls in flight are cancelled); a channel passed to
    /// the constructor stays open. The channel has no asynchronous shutdown, so neither does this.
    /// </summary>
    public void Dispose()
    {
        if (ownsChannel)
        {
            channel.Dispose();
        }
    }

    private static ServiceConfig? RetryConfig(KenClientOptions options)
    {
        if (options.MaxRetries <= 0)
        {
            return null;
        }

        // gRPC's own retry policy: it only retries calls that have not yet received a response,
        // and it replays buffered upload messages, so a half-sent upload is never duplicated.
        return new ServiceConfig
        {
            MethodConfigs =
            {
                new MethodConfig
                {
                    Names = { MethodName.Default },
                    RetryPolicy = new RetryPolicy
                    {
                        MaxAttempts = options.MaxRetries + 1,
                        InitialBackoff = options.InitialBackoff,
                        MaxBackoff = options.MaxBackoff,
                        BackoffMultiplier = 2,
                        RetryableStatusCodes = { StatusCode.Unavailable },
                    },
                },
            },
        };
    }

    private DateTime Deadline() => DateTime.UtcNow + options.Timeout;

    private Metadata TaskHeaders(string task)
    {
        var headers = new Metadata { { TaskHeader, task } };
        if (!string.IsNullOrEmpty(options.InferenceToken))
        {
            headers.Add("authorization", "Bearer " + options.InferenceToken);
        }

        return headers;
    }

    private Metadata AdminHeaders()
    {
        var headers = new Metadata();
        if (!string.IsNullOrEmpty(options.AdminToken))
        {
            headers.Add("authorization", "Bearer " + options.AdminToken);
        }

        return headers;
    }
}
