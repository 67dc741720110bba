// hailong — Outbox: outbound messages (SMS invitations, replies, e-mails), stored and retried.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace hailong {

struct OutboundMessage {
    std::string channel;    ///< which sender delivers it: "sms", ...
    std::string recipient;  ///< phone number, address...
    std::string body;
    std::string dedupeKey;         ///< the same key twice queues one message ("" = always new)
    std::int64_t notBeforeMs = 0;  ///< earliest delivery time; 0 = now
};

/// A sender's verdict on one delivery attempt. Deferred means "not now" (quiet hours, a rate):
/// no attempt is counted and the message is offered again a minute later.
enum class DeliveryResult { Sent, RetryLater, Failed, Deferred };

/// Durable outbound queue. Thread-safe. Messages survive restarts and are retried with
/// exponential backoff until sent, failed or out of attempts.
class Outbox {
public:
    virtual ~Outbox() = default;
    using Sender = std::function<DeliveryResult(const OutboundMessage&, std::string& error)>;
    /// Registers the sender for `channel`; call from ChannelPlugin::start. The sender is called
    /// on the outbox's thread and must return within a few seconds.
    virtual void registerSender(const std::string& channel, Sender sender) = 0;
    /// Stops delivering `channel`'s messages (they stay queued). Done for a plugin that stops.
    virtual void unregisterSender(const std::string& channel) = 0;
    /// Stores the message durably; returns its id (the existing one for a repeated dedupeKey).
    virtual std::int64_t enqueue(const OutboundMessage& message) = 0;
};

}  // namespace hailong
