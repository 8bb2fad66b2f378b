using System.Runtime.CompilerServices;

using Grpc.Core;

using Ken.Format;
using Ken.Server.Registry;
using Ken.V1;

namespace Ken.Server.Api;

/// <summary>The <c>ken.v1.Registry</c> service (admin token checked by <see cref="Security.AdminTokenInterceptor"/>).</summary>
public sealed class RegistryService : Ken.V1.Registry.RegistryBase
{
    private readonly TaskRegistry _registry;

    public RegistryService(TaskRegistry registry) => _registry = registry;

    public override async Task<TaskInfo> RegisterTask(IAsyncStreamReader<RegisterTaskRequest> requestStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(context);
        if (!await requestStream.MoveNext(context.CancellationToken) || requestStream.Current.PayloadCase != RegisterTaskRequest.PayloadOneofCase.Header)
        {
            throw new KenException("RegisterTask's first message must be the header (name, size_bytes, sha256); send it before the file's chunks.");
        }

        var header = requestStream.Current.Header;
        var upload = new TaskUpload(header.Name, header.Overwrite, header.Pin, (long)Math.Min(header.SizeBytes, long.MaxValue), header.Sha256.ToLowerInvariant());
        var entry = await _registry.RegisterAsync(upload, Chunks(requestStream, context.CancellationToken), context.CancellationToken);
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

    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> Chunks(IAsyncStreamReader<RegisterTaskRequest> requestStream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await requestStream.MoveNext(cancellationToken))
        {
            var message = requestStream.Current;
            if (message.PayloadCase != RegisterTaskRequest.PayloadOneofCase.Chunk)
            {
                throw new KenException("RegisterTask got a second header; send one header, then only chunk messages.");
            }

            yield return message.Chunk.Memory;
        }
    }
}
