// hailong — e-mail delivery for the outbox: alert notices to officials through an SMTP relay.
#pragma once

#include <hailong/Outbox.h>

#include <string>

namespace hailong {

/// Where mail goes. A plain value.
struct SmtpOptions {
    std::string host;  ///< the relay (e.g. the agency's mail server, or a local postfix)
    int port = 25;
    std::string from;                ///< the sender address
    std::string username, password;  ///< AUTH LOGIN when a username is set
    int timeoutS = 10;
};

/// The sender of the outbox's "email" channel. A message's body is its subject on the first
/// line, a blank line, then the text (UTF-8; sent as text/plain, quoted-printable, the subject
/// RFC 2047-encoded). Plain SMTP (no TLS): point it at a relay on the host or the agency's
/// network. A 4xx answer or an unreachable relay is retried later; a 5xx answer fails the
/// message. Thread-safe (each call opens its own connection).
Outbox::Sender smtpSender(SmtpOptions options);

}  // namespace hailong
