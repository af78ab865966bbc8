/**
 * A reply from a peer. OCPP-J's CallError codes (OCPP 1.6 JSON spec 4.2.3;
 * OCPP 2.0.1 part 4, 4.3) are defined by whose fault they are (InternalError the receiver's, the
 * violations the sender's payload), though servers bend them: SteVe answers an unknown
 * transactionId -1 with InternalError (steve-community/steve#156). "Rejected" is the status OCPP
 * confirmations carry. Modbus exception responses 1-3 (illegal function, data address, data value;
 * Modbus Application Protocol Specification V1.1b3, section 7) say the device answered a request
 * that does not fit its register map. An HTTP 4xx status is a client error by definition (RFC 9110,
 * section 15.5). Either way the peer answered, so it is not a silent component.
 */
const REPLY =
  /\b(reject(s|ed)|HTTP 4\d\d|illegal (function|data (address|value))|call ?error|NotImplemented|NotSupported|InternalError|ProtocolError|SecurityError|Forma(tion|t) ?Violation|Property ?Constraint ?Violation|Occur+ence ?Constraint ?Violation|Type ?Constraint ?Violation|GenericError|MessageTypeNotSupported|RpcFrameworkError)\b/i;

/** The text reports a reply from a peer: the peer answered, so it is not silent. */
export const reportsReply = (text: string): boolean => REPLY.test(text.slice(0, 512));
