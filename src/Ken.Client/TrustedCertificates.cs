using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Ken.Client;

/// <summary>
/// An HTTP handler that trusts only the certificates of one PEM file (a private CA, or the server's own
/// self-signed certificate) for https:// servers, instead of the system's store; host names are still checked.
/// </summary>
internal static class TrustedCertificates
{
    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="pemPath"/> holds no readable PEM certificate.</summary>
    public static SocketsHttpHandler Handler(string pemPath)
    {
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(pemPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new ArgumentException($"cannot read the trusted certificate file {pemPath} ({e.Message}); pass a PEM file with the server's certificate or its CA.", nameof(pemPath), e);
        }

        if (roots.Count == 0)
        {
            throw new ArgumentException($"{pemPath} holds no PEM certificate; pass a file with -----BEGIN CERTIFICATE----- blocks.", nameof(pemPath));
        }

        return new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, offered, errors) => IsTrusted(certificate as X509Certificate2, offered, errors, roots),
            },
        };
    }

    private static bool IsTrusted(X509Certificate2? certificate, X509Chain? offered, SslPolicyErrors errors, X509Certificate2Collection roots)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable) || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (offered is not null)
        {
            // Intermediates the server sent; trust still has to end at one of the file's certificates.
            foreach (var element in offered.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return chain.Build(certificate);
    }
}
