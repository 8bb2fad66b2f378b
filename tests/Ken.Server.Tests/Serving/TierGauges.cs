using System.Diagnostics.Metrics;

using Microsoft.Extensions.DependencyInjection;

namespace Ken.Server.Tests.Serving;

/// <summary>Reads a running server's <c>ken_resident_bytes</c> gauge in process, as its exporter would.</summary>
internal static class TierGauges
{
    public static long ResidentBytes(TestServer server, string tier)
    {
        // Tests run servers side by side; each one's meters are scoped to its own factory.
        var factory = server.Services.GetRequiredService<IMeterFactory>();
        long? value = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Name == "ken_resident_bytes")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, measurement, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "tier" && Equals(tag.Value, tier))
                {
                    value = measurement;
                }
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return value ?? throw new InvalidOperationException($"the server reported no ken_resident_bytes{{tier=\"{tier}\"}}");
    }
}
