"""What every slixmpp interop script sets up the same way against a Parley test server."""
import ssl


def prepare_for_test_server(client):
    """Accept the test server's fresh self-signed certificate, and log in with plain SCRAM.

    COMPAT: slixmpp 1.8 knows only the tls-unique channel binding, which TLS 1.3 does not have.
    It would pick SCRAM-*-PLUS with the wrong flag, or plain SCRAM with the 'y' flag, which RFC 5802
    section 6 downgrade protection must refuse while the server offers -PLUS. So: plain SCRAM, and
    tell it honestly that it has no channel binding here ('n' flag).
    """
    client.ssl_context.check_hostname = False
    client.ssl_context.verify_mode = ssl.CERT_NONE
    client['feature_mechanisms'].use_mechs = {'SCRAM-SHA-256', 'SCRAM-SHA-1'}
    defaults = client['feature_mechanisms'].sasl_callback

    def without_channel_binding(required, optional):
        creds = defaults(required, optional)
        if 'channel_binding' in creds:
            creds['channel_binding'] = None
        return creds

    client['feature_mechanisms'].sasl_callback = without_channel_binding
