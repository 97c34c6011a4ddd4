internal import NIOCore
internal import WeirClient
internal import Synchronization

/// The SASL settings of a listener: which mechanisms it accepts and where the users are.
public struct SaslConfiguration: Sendable {
    public var mechanisms: [SaslUserStore.Mechanism]
    public var store: SaslUserStore

    public init(mechanisms: [SaslUserStore.Mechanism], store: SaslUserStore) {
        self.mechanisms = mechanisms
        self.store = store
    }
}

/// Per-connection state: the SASL exchange and the principal it authenticated.
final class KafkaSessionState: Sendable {
    struct State {
        var principal: KafkaPrincipal = .anonymous
        var authenticated = false
        var authenticator: SaslAuthenticator? = nil
        var close = false
        var reason = ""
    }

    let broker: KafkaBroker
    let sasl: SaslConfiguration?
    let _state = Mutex(State())

    init(broker: KafkaBroker, sasl: SaslConfiguration?) {
        self.broker = broker
        self.sasl = sasl
    }

    var principal: KafkaPrincipal { _state.withLock { $0.principal } }
    var closeAfterResponse: Bool { _state.withLock { $0.close } }
    var closeReason: String { _state.withLock { $0.reason } }

    /// Answers the SASL requests and refuses anything else before authentication (a closed
    /// connection, as Kafka does); nil to let the broker answer.
    func intercept(_ ctx: RequestContext, _ r: inout KafkaReader) async throws(KafkaProtocolError) -> KafkaWriter? {
        let v = ctx.apiVersion
        var w = KafkaWriter()
        switch ctx.apiKey {
        case .saslHandshake:
            let req = try SaslHandshakeRequest(from: &r, version: v)
            var resp = SaslHandshakeResponse()
            resp.mechanisms = sasl?.mechanisms.map(\.rawValue) ?? []
            if let sasl, let m = SaslUserStore.Mechanism(rawValue: req.mechanism.uppercased()), sasl.mechanisms.contains(m) {
                _state.withLock { $0.authenticator = SaslAuthenticator(store: sasl.store, mechanism: m) }
            } else {
                resp.errorCode = KafkaErrorCode.unsupportedSaslMechanism.rawValue
            }
            resp.write(to: &w, version: v)
            return w
        case .saslAuthenticate:
            let req = try SaslAuthenticateRequest(from: &r, version: v)
            var resp = SaslAuthenticateResponse()
            resp.errorMessage = nil
            let outcome: Result<SaslAuthenticator.Step, SaslError> = _state.withLock { s in
                guard var a = s.authenticator, !s.authenticated else {
                    return .failure(SaslError("SaslAuthenticate before a successful SaslHandshake"))
                }
                do throws(SaslError) {
                    let step = try a.step(req.authBytes)
                    s.authenticator = a
                    if case .done(let p, _) = step {
                        s.principal = p
                        s.authenticated = true
                    }
                    return .success(step)
                } catch {
                    s.close = true
                    s.reason = "SASL authentication failed: \(error.message)"
                    return .failure(error)
                }
            }
            switch outcome {
            case .success(.challenge(let bytes)): resp.authBytes = bytes
            case .success(.done(_, let bytes)): resp.authBytes = bytes
            case .failure(let e):
                resp.errorCode = KafkaErrorCode.saslAuthenticationFailed.rawValue
                resp.errorMessage = e.message
            }
            resp.write(to: &w, version: v)
            return w
        case .apiVersions:
            return nil
        default:
            if sasl != nil, !_state.withLock({ $0.authenticated }) {
                throw KafkaProtocolError("\(ctx.apiKey) before SASL authentication on a SASL listener; closing the connection.")
            }
            return nil
        }
    }
}
