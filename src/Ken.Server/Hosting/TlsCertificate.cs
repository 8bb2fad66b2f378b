using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

using Ken.Format;

namespace Ken.Server.Hosting;

/// <summary>The gRPC endpoint's TLS certificate, read from the PEM files of <c>--tls-cert</c> and <c>--tls-key</c>.</summary>
public static class TlsCertificate
{
    /// <summary>
    /// Reads the certificate and its private key; throws <see cref="KenException"/> saying which file is
    /// missing, unreadable or not PEM, or that the key is not the certificate's.
    /// </summary>
    public static X509Certificate2 Load(string certPath, string keyPath)
    {
        ArgumentNullException.ThrowIfNull(certPath);
        ArgumentNullException.ThrowIfNull(keyPath);
        string certText = Read(certPath, "--tls-cert", "certificate");
        string keyText = Read(keyPath, "--tls-key", "private key");
        string subject;
        try
        {
            using var certificate = X509Certificate2.CreateFromPem(certText);
            subject = certificate.Subject;
        }
        catch (CryptographicException ex)
        {
            throw new KenException($"--tls-cert {certPath} is not a PEM certificate ({ex.Message}); pass a file that starts with -----BEGIN CERTIFICATE-----.", ex);
        }

        try
        {
            return X509Certificate2.CreateFromPem(certText, keyText);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new KenException($"--tls-key {keyPath} is not the private key of --tls-cert {certPath} (subject {subject}), or not a PEM key ({ex.Message}); pass the key the certificate was issued for.", ex);
        }
    }

    private static string Read(string path, string flag, string what)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KenException($"{flag} {path}: cannot read the TLS {what} ({ex.Message}); pass a readable PEM file.", ex);
        }
    }
}
