using System.Runtime.CompilerServices;

using Grpc.Core;

using Ken.Format;
using Ken.Server.Hosting;
using Ken.Server.Registry;
using Ken.Server.Telemetry;
using Ken.V1;

namespace Ken.Server.Api;

/// <summary>The <c>ken.v1.Registry</c> service (admin token checked by <see cref="Security.AdminTokenInterceptor"/>).</summary>
public sealed class RegistryService : Ken.V1.Registry.RegistryBase
{
    private readonly TaskRegistry _registry;
    private readonly UploadSlots _uploads;
    private readonly TimeSpan _idleTimeout;
    private readonly ILogger<RegistryService> _logger;

    public RegistryService(TaskRegistry registry, UploadSlots uploads, KenServerOptions options, ILogger<RegistryService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _registry = registry;
        _uploads = uploads;
        _idleTimeout = TimeSpan.FromSeconds(options.UploadIdleTimeoutSeconds);
        _logger = logger;
    }

    public override async Task<TaskInfo> RegisterTask(IAsyncStreamReader<RegisterTaskRequest> requestStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(context);
        using var slot = _uploads.Enter();
        using var idle = new UploadIdleTimer(_idleTimeout, context.CancellationToken);
        if (!await NextAsync(requestStream, idle, "(no header yet)") || requestStream.Current.PayloadCase != RegisterTaskRequest.PayloadOneofCase.Header)
        {
            throw new KenException("RegisterTask's first message must be the header (name, size_bytes, sha256); send it before the file's chunks.");
        }

        var header = requestStream.Current.Header;
        var upload = new TaskUpload(header.Name, header.Overwrite, header.Pin, (long)Math.Min(header.SizeBytes, long.MaxValue), header.Sha256.ToLowerInvariant());
        var entry = await _registry.RegisterAsync(upload, Chunks(requestStream, idle, header.Name, context.CancellationToken), context.CancellationToken);
        return TaskInfoMapper.ToMessage(entry, _registry.BaseModel);
    }

    public override Task<UnregisterTaskResponse> UnregisterTask(UnregisterTaskRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var entry = _registry.Unregister(request.Name);
        return Task.FromResult(new UnregisterTaskResponse { Name = entry.Name });
    }

    public override Task<ListTasksResponse> ListTasks(ListTasksRequest request, ServerCallContext context)
    {
        var response = new ListTasksResponse();
        foreach (var entry in _registry.List())
        {
            response.Tasks.Add(TaskInfoMapper.ToMessage(entry, _registry.BaseModel));
        }

        return Task.FromResult(response);
    }

    public override Task<TaskInfo> GetTask(GetTaskRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        TaskName.Validate(request.Name);
        return Task.FromResult(TaskInfoMapper.ToMessage(_registry.Get(request.Name), _registry.BaseModel));
    }

    private async IAsyncEnumerable<ReadOnlyMemory<byte>> Chunks(IAsyncStreamReader<RegisterTaskRequest> requestStream, UploadIdleTimer idle, string task, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await NextAsync(requestStream, idle, task))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var message = requestStream.Current;
            if (message.PayloadCase != RegisterTaskRequest.PayloadOneofCase.Chunk)
            {
                throw new KenException("RegisterTask got a second header; send one header, then only chunk messages.");
            }

            yield return message.Chunk.Memory;
        }
    }

    /// <summary>The next message of the upload, or <see cref="UploadIdleException"/> when the client sent nothing for the idle timeout.</summary>
    private async Task<bool> NextAsync(IAsyncStreamReader<RegisterTaskRequest> requestStream, UploadIdleTimer idle, string task)
    {
        try
        {
            return await requestStream.MoveNext(idle.Start());
        }
        catch (Exception ex) when (idle.Fired && ex is OperationCanceledException or IOException)
        {
            _logger.UploadIdleDropped(task, idle.Timeout.TotalSeconds);
            throw new UploadIdleException(idle.Timeout, ex);
        }
        finally
        {
            idle.Stop();
        }
    }
}
