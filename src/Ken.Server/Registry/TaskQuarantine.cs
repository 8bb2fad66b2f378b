using System.Globalization;
using Ken.Server.Telemetry;

namespace Ken.Server.Registry;

/// <summary>
/// Where task files that fail to load go, time-stamped, so that one bad file never stops start-up
/// and the operator can still inspect it.
/// </summary>
internal sealed class TaskQuarantine
{
    private readonly string _folder;
    private readonly ILogger _logger;

    public TaskQuarantine(string folder, ILogger logger)
    {
        _folder = folder;
        _logger = logger;
    }

    public void Move(string path, string reason)
    {
        try
        {
            Directory.CreateDirectory(_folder);
            var target = Path.Combine(_folder, Path.GetFileName(path) + "." + DateTime.UtcNow.ToString("yyyyMMddTHHmmssfffZ", CultureInfo.InvariantCulture));
            File.Move(path, target);
            PinMarker.Remove(path);
            _logger.TaskQuarantined(path, target, reason);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _logger.QuarantineFailed(path, reason, _folder, ex.Message);
        }
    }
}
