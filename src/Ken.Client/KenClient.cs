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
/// carrying the server's status and message. Thread-safe; share one instance per server.
/// </summary>
public sealed class KenClient : IDisposable
{
    /// <summary>Request header naming the task, so a load balancer can route by task without parsing the body.</summary>
    public const string TaskHeader = "ken-task";

    private readonly KenClientOptions options;
    private readonly GrpcChannel channel;
    private readonly Inference.InferenceClient inference;
    private readonly Registry.RegistryClient registry;
    private readonly Health.HealthClient health;

    public KenClient(KenClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
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
        });
        inference = new Inference.InferenceClient(channel);
        registry = new Registry.RegistryClient(channel);
        health = new Health.HealthClient(channel);
    }

    public KenClient(string address, string? adminToken = null)
        : this(new KenClientOptions { Address = address, AdminToken = adminToken })
    {
    }

    public string Address => options.Address;

    public async Task<ClassifyResponse> ClassifyAsync(string task, IEnumerable<string> texts, uint topK = 0, CancellationToken cancellationToken = default)
    {
        var request = new ClassifyRequest { Task = task, TopK = topK };
        request.Texts.AddRange(texts);
        return await inference.ClassifyAsync(request, TaskHeaders(task), Deadline(), cancellationToken);
    }

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

        try
        {
            await SendChunksAsync(call.RequestStream, path, progress, cancellationToken);
            await call.RequestStream.CompleteAsync();
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            // The server may answer before the upload ends (ALREADY_EXISTS right after the header, a
            // size limit mid-way); a failed write then says only "cancelled", so its reply is the real error.
            await call.ResponseAsync;
            throw;
        }

        return await call;
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

    public async Task UnregisterAsync(string name, CancellationToken cancellationToken = default) =>
        await registry.UnregisterTaskAsync(new UnregisterTaskRequest { Name = name }, AdminHeaders(), Deadline(), cancellationToken);

    public async Task<IReadOnlyList<TaskInfo>> ListTasksAsync(CancellationToken cancellationToken = default)
    {
        var response = await registry.ListTasksAsync(new ListTasksRequest(), AdminHeaders(), Deadline(), cancellationToken);
        return response.Tasks;
    }

    public async Task<TaskInfo> GetTaskAsync(string name, CancellationToken cancellationToken = default) =>
        await registry.GetTaskAsync(new GetTaskRequest { Name = name }, AdminHeaders(), Deadline(), cancellationToken);

    /// <summary>The server's overall health (<c>grpc.health.v1</c>, service "").</summary>
    public async Task<HealthCheckResponse.Types.ServingStatus> CheckHealthAsync(CancellationToken cancellationToken = default)
    {
        var response = await health.CheckAsync(new HealthCheckRequest { Service = string.Empty }, deadline: Deadline(), cancellationToken: cancellationToken);
        return response.Status;
    }

    public void Dispose() => channel.Dispose();

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

    private static Metadata TaskHeaders(string task) => new() { { TaskHeader, task } };

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
