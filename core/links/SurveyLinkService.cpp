#include "links/SurveyLinkService.h"

#include "store/HostSecrets.h"

#include <hailong/Hmac.h>

#include <array>

namespace hailong {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::size_t kSignatureBytes = 16;

std::string base64url(std::string_view bytes) {
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (unsigned char c : bytes) {
        buffer = (buffer << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += kAlphabet[(buffer >> bits) & 0x3F];
        }
    }
    if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 0x3F];
    return out;
}

// nullopt for anything that is not unpadded base64url (or leaves stray bits).
std::optional<std::string> unbase64url(std::string_view text) {
    static const std::array<int, 256> value = [] {
        std::array<int, 256> v{};
        v.fill(-1);
        for (int i = 0; i < 64; ++i) v[static_cast<unsigned char>(kAlphabet[i])] = i;
        return v;
    }();
    if (text.size() % 4 == 1) return std::nullopt;
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (unsigned char c : text) {
        const int v = value[c];
        if (v < 0) return std::nullopt;
        buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xFF);
        }
    }
    if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
    return out;
}

bool plainPart(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    for (unsigned char c : s)
        if (c <= 0x20 || c >= 0x7F) return false;
    return true;
}

}  // namespace

SurveyLinkService::SurveyLinkService(Database& db, std::function<std::string()> baseUrl)
    : db_(db), baseUrl_(std::move(baseUrl)) {}

const std::string& SurveyLinkService::key() const {
    std::call_once(once_, [this] { key_ = hostSecret(db_, "link_key"); });
    return key_;
}

std::string SurveyLinkService::signature(std::string_view payload) const {
    return base64url(hmacSha256(key(), payload).substr(0, kSignatureBytes));
}

std::string SurveyLinkService::token(std::string_view dossierCode,
                                     std::string_view surveyId) const {
    if (!plainPart(dossierCode) || !plainPart(surveyId))
        throw std::invalid_argument(
            "a link names a dossier code and a survey id (printable ASCII)");
    std::string payload(dossierCode);
    payload += '\n';
    payload += surveyId;
    return base64url(payload) + "." + signature(payload);
}

std::optional<SurveyLink> SurveyLinkService::read(std::string_view token) const {
    if (token.size() > kMaxTokenBytes) return std::nullopt;
    const std::size_t dot = token.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    const auto payload = unbase64url(token.substr(0, dot));
    if (!payload || !sameSecret(token.substr(dot + 1), signature(*payload))) return std::nullopt;
    const std::size_t newline = payload->find('\n');
    if (newline == std::string::npos) return std::nullopt;
    SurveyLink link{payload->substr(0, newline), payload->substr(newline + 1)};
    if (!plainPart(link.dossierCode) || !plainPart(link.surveyId)) return std::nullopt;
    return link;
}

std::string SurveyLinkService::url(std::string_view token) const {
    return absolute("/s/t/" + std::string(token));
}

std::string SurveyLinkService::absolute(std::string_view path) const {
    return baseUrl_() + std::string(path);
}

}  // namespace hailong
