using System.Collections.Concurrent;

using Microsoft.Extensions.Logging;

namespace Ken.Server.Tests.Telemetry;

/// <summary>One log call as the server made it: category, level, event id, structured state and exception.</summary>
internal sealed record LogRecord(string Category, LogLevel Level, EventId EventId, IReadOnlyDictionary<string, object?> State, Exception? Exception, string Message);

/// <summary>An in-memory <see cref="ILoggerProvider"/> that keeps every record at Information and above.</summary>
internal sealed class RecordingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<LogRecord> Records { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Recorder(RecordingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (state is IReadOnlyList<KeyValuePair<string, object?>> pairs)
            {
                foreach (var pair in pairs)
                {
                    values[pair.Key] = pair.Value;
                }
            }

            owner.Records.Enqueue(new LogRecord(category, logLevel, eventId, values, exception, formatter(state, exception)));
        }
    }
}
