using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ken.TestSupport;

/// <summary>
/// A self-signed certificate for 127.0.0.1 and localhost made for one test (ECDSA P-256, valid for a day),
/// written as PEM files, and a client handler that trusts exactly this certificate.
/// </summary>
public sealed class SelfSignedCertificate : IDisposable
{
    private SelfSignedCertificate(X509Certificate2 certificate, string certPath, string keyPath)
    {
        Certificate = certificate;
        CertPath = certPath;
        KeyPath = keyPath;
    }

    public X509Certificate2 Certificate { get; }

    public string CertPath { get; }

    public string KeyPath { get; }

    /// <summary>Makes a certificate and writes <c>&lt;name&gt;.crt.pem</c> and <c>&lt;name&gt;.key.pem</c> into <paramref name="folder"/>.</summary>
    public static SelfSignedCertificate Create(string folder, string name = "server")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=ken-test-" + name, key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certPath = Path.Combine(folder, name + ".crt.pem");
        var keyPath = Path.Combine(folder, name + ".key.pem");
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return new SelfSignedCertificate(certificate, certPath, keyPath);
    }

    /// <summary>A handler that accepts the server only if it presents exactly this certificate (pinned by its bytes).</summary>
    public SocketsHttpHandler PinningHandler() => new()
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetRawCertData().AsSpan().SequenceEqual(Certificate.RawData),
        },
    };

    public void Dispose() => Certificate.Dispose();
}
