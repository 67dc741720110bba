#include "mail/SmtpSender.h"

#include <Poco/Net/MailMessage.h>
#include <Poco/Net/MailRecipient.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SMTPClientSession.h>

#include <cctype>

namespace hailong {
namespace {

// The first SMTP reply code (three digits starting with 2 to 5) in a Poco message; 0 if none.
int replyCode(const std::string& text) {
    for (std::size_t i = 0; i + 2 < text.size(); ++i) {
        const bool digits = text[i] >= '2' && text[i] <= '5' &&
                            std::isdigit(static_cast<unsigned char>(text[i + 1])) &&
                            std::isdigit(static_cast<unsigned char>(text[i + 2]));
        const bool alone =
            (i == 0 || !std::isdigit(static_cast<unsigned char>(text[i - 1]))) &&
            (i + 3 == text.size() || !std::isdigit(static_cast<unsigned char>(text[i + 3])));
        if (digits && alone) return std::stoi(text.substr(i, 3));
    }
    return 0;
}

}  // namespace

Outbox::Sender smtpSender(SmtpOptions options) {
    return [options](const OutboundMessage& m, std::string& error) {
        const auto cut = m.body.find("\n\n");
        const std::string subject = cut == std::string::npos ? m.body : m.body.substr(0, cut);
        const std::string text = cut == std::string::npos ? "" : m.body.substr(cut + 2);
        try {
            Poco::Net::MailMessage mail;
            mail.setSender(options.from);
            mail.addRecipient(
                Poco::Net::MailRecipient(Poco::Net::MailRecipient::PRIMARY_RECIPIENT, m.recipient));
            mail.setSubject(Poco::Net::MailMessage::encodeWord(subject, "UTF-8"));
            mail.setContentType("text/plain; charset=UTF-8");
            mail.setContent(text, Poco::Net::MailMessage::ENCODING_QUOTED_PRINTABLE);
            Poco::Net::SMTPClientSession session(options.host,
                                                 static_cast<Poco::UInt16>(options.port));
            session.setTimeout(Poco::Timespan(options.timeoutS, 0));
            if (options.username.empty())
                session.login();
            else
                session.login(Poco::Net::SMTPClientSession::AUTH_LOGIN, options.username,
                              options.password);
            session.sendMessage(mail);
            session.close();
            return DeliveryResult::Sent;
        } catch (const Poco::Net::SMTPException& e) {
            error = "SMTP: " + e.message();
            // The relay's answer code: 5xx will not change by retrying, 4xx may.
            return replyCode(e.message()) >= 500 ? DeliveryResult::Failed
                                                 : DeliveryResult::RetryLater;
        } catch (const Poco::Exception& e) {
            error = "SMTP relay " + options.host + ":" + std::to_string(options.port) + ": " +
                    e.displayText();
            return DeliveryResult::RetryLater;
        }
    };
}

}  // namespace hailong
