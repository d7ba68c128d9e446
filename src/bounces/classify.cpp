// Bounce classification: RFC 3463 enhanced status codes first, the server's words when the code
// says little or nothing. See bounces.h for the rules; the comments here say why they are so.

#include "bounces/bounces.h"
#include "bounces/bounces_internal.h"
#include "core/text.h"

namespace fidelis::bounces {
namespace {

using internal::StatusCode;

// A phrase servers use, and what it means. `strong` phrases name the cause outright ("user
// unknown"); weak ones ("Recipient address rejected", "mailbox unavailable") are also what servers
// say when they refuse for other reasons, so they only count when nothing more specific does.
struct Phrase {
  std::string_view key;  // in text::search_key form: lower-case, no accents, punctuation as spaces
  Reason reason;
  bool strong = true;
};

// Checked in this order; the first phrase found wins. Passing failures come first because
// "mailbox temporarily disabled" is not a closed mailbox; mailbox full before message too large
// because "mailbox size limit exceeded" is about the mailbox; specific causes before policy, and
// policy before the weak phrases, because Postfix words a policy refusal as
// "Recipient address rejected: Access denied".
constexpr Phrase kPhrases[] = {
    {"greylist", Reason::kTemporary},
    {"graylist", Reason::kTemporary},
    {"try again later", Reason::kTemporary},
    {"try later", Reason::kTemporary},
    {"please try again", Reason::kTemporary},
    {"temporar", Reason::kTemporary},  // temporary, temporarily, temporairement, erreur temporaire
    {"too many connections", Reason::kTemporary},
    {"too many recipients", Reason::kTemporary},
    {"rate limit", Reason::kTemporary},
    {"throttl", Reason::kTemporary},
    {"timed out", Reason::kTemporary},
    {"timeout", Reason::kTemporary},
    {"connection refused", Reason::kTemporary},
    {"connection reset", Reason::kTemporary},
    {"deferred", Reason::kTemporary},
    {"reessayez plus tard", Reason::kTemporary},

    {"mailbox full", Reason::kMailboxFull},
    {"mailbox is full", Reason::kMailboxFull},
    {"full mailbox", Reason::kMailboxFull},
    {"inbox is full", Reason::kMailboxFull},
    {"inbox full", Reason::kMailboxFull},
    {"mailbox has exceeded", Reason::kMailboxFull},
    {"mailbox size limit", Reason::kMailboxFull},
    {"over quota", Reason::kMailboxFull},
    {"overquota", Reason::kMailboxFull},
    {"quota", Reason::kMailboxFull},
    {"exceeded storage", Reason::kMailboxFull},
    {"exceeds storage", Reason::kMailboxFull},
    {"insufficient storage", Reason::kMailboxFull},
    {"storage allocation", Reason::kMailboxFull},
    {"out of storage", Reason::kMailboxFull},
    {"boite pleine", Reason::kMailboxFull},
    {"boite aux lettres pleine", Reason::kMailboxFull},
    {"boite de reception pleine", Reason::kMailboxFull},
    {"boite mail pleine", Reason::kMailboxFull},
    {"espace insuffisant", Reason::kMailboxFull},

    {"message too large", Reason::kMessageTooLarge},
    {"message too big", Reason::kMessageTooLarge},
    {"message is too large", Reason::kMessageTooLarge},
    {"message is too big", Reason::kMessageTooLarge},
    {"message size exceeds", Reason::kMessageTooLarge},
    {"message exceeds", Reason::kMessageTooLarge},
    {"size exceeds", Reason::kMessageTooLarge},
    {"exceeds the maximum size", Reason::kMessageTooLarge},
    {"exceeds size limit", Reason::kMessageTooLarge},
    {"too large", Reason::kMessageTooLarge},
    {"too big", Reason::kMessageTooLarge},
    {"trop volumineux", Reason::kMessageTooLarge},
    {"taille maximale", Reason::kMessageTooLarge},

    {"host or domain name not found", Reason::kDomainUnknown},
    {"domain not found", Reason::kDomainUnknown},
    {"domain name not found", Reason::kDomainUnknown},
    {"host not found", Reason::kDomainUnknown},
    {"unrouteable", Reason::kDomainUnknown},  // Exim: "Unrouteable address" (no such domain)
    {"unroutable", Reason::kDomainUnknown},
    {"no mx", Reason::kDomainUnknown},
    {"null mx", Reason::kDomainUnknown},
    {"domain does not exist", Reason::kDomainUnknown},
    {"domain doesn t exist", Reason::kDomainUnknown},
    {"no such domain", Reason::kDomainUnknown},
    {"unknown domain", Reason::kDomainUnknown},
    {"nxdomain", Reason::kDomainUnknown},
    {"name service error", Reason::kDomainUnknown},
    {"all relevant mx records point to non existent hosts", Reason::kDomainUnknown},
    {"domaine inconnu", Reason::kDomainUnknown},
    {"domaine introuvable", Reason::kDomainUnknown},
    {"domaine inexistant", Reason::kDomainUnknown},

    {"account disabled", Reason::kMailboxDisabled},
    {"account has been disabled", Reason::kMailboxDisabled},
    {"account is disabled", Reason::kMailboxDisabled},
    {"mailbox disabled", Reason::kMailboxDisabled},
    {"mailbox is disabled", Reason::kMailboxDisabled},
    {"mailbox has been disabled", Reason::kMailboxDisabled},
    {"deactivated", Reason::kMailboxDisabled},
    {"account inactive", Reason::kMailboxDisabled},
    {"account is inactive", Reason::kMailboxDisabled},
    {"mailbox inactive", Reason::kMailboxDisabled},
    {"mailbox is inactive", Reason::kMailboxDisabled},
    {"inactive user", Reason::kMailboxDisabled},
    {"inactive account", Reason::kMailboxDisabled},
    {"no longer active", Reason::kMailboxDisabled},
    {"no longer in use", Reason::kMailboxDisabled},
    {"account closed", Reason::kMailboxDisabled},
    {"compte desactive", Reason::kMailboxDisabled},
    {"compte inactif", Reason::kMailboxDisabled},
    {"boite desactivee", Reason::kMailboxDisabled},

    {"user unknown", Reason::kMailboxUnknown},
    {"unknown user", Reason::kMailboxUnknown},
    {"no such user", Reason::kMailboxUnknown},
    {"no such mailbox", Reason::kMailboxUnknown},
    {"no such recipient", Reason::kMailboxUnknown},
    {"no such address", Reason::kMailboxUnknown},
    {"no such account", Reason::kMailboxUnknown},
    {"unknown recipient", Reason::kMailboxUnknown},
    {"recipient unknown", Reason::kMailboxUnknown},
    {"unknown address", Reason::kMailboxUnknown},
    {"address unknown", Reason::kMailboxUnknown},
    {"unknown mailbox", Reason::kMailboxUnknown},
    {"mailbox unknown", Reason::kMailboxUnknown},
    {"user not found", Reason::kMailboxUnknown},
    {"mailbox not found", Reason::kMailboxUnknown},
    {"recipient not found", Reason::kMailboxUnknown},
    {"recipientnotfound", Reason::kMailboxUnknown},  // Exchange: RESOLVER.ADR.RecipientNotFound
    {"address not found", Reason::kMailboxUnknown},
    {"account not found", Reason::kMailboxUnknown},
    {"invalid recipient", Reason::kMailboxUnknown},
    {"invalid mailbox", Reason::kMailboxUnknown},
    {"invalid address", Reason::kMailboxUnknown},
    {"invalid user", Reason::kMailboxUnknown},
    {"does not exist", Reason::kMailboxUnknown},
    {"doesn t exist", Reason::kMailboxUnknown},
    {"user doesn t have a", Reason::kMailboxUnknown},  // Yahoo: "This user doesn't have a yahoo.com account"
    {"not a valid mailbox", Reason::kMailboxUnknown},
    {"unknown or illegal alias", Reason::kMailboxUnknown},
    {"adresse inconnue", Reason::kMailboxUnknown},
    {"adresse invalide", Reason::kMailboxUnknown},
    {"adresse introuvable", Reason::kMailboxUnknown},
    {"adresse inexistante", Reason::kMailboxUnknown},
    {"utilisateur inconnu", Reason::kMailboxUnknown},
    {"destinataire inconnu", Reason::kMailboxUnknown},
    {"destinataire introuvable", Reason::kMailboxUnknown},
    {"n existe pas", Reason::kMailboxUnknown},

    {"spam", Reason::kPolicy},  // spam, spamhaus, spamcop
    {"blocked", Reason::kPolicy},
    {"block list", Reason::kPolicy},
    {"blocklist", Reason::kPolicy},
    {"blacklist", Reason::kPolicy},
    {"black list", Reason::kPolicy},
    {"denylist", Reason::kPolicy},
    {"listed on", Reason::kPolicy},
    {"listed at", Reason::kPolicy},
    {"rbl", Reason::kPolicy},
    {"dnsbl", Reason::kPolicy},
    {"policy", Reason::kPolicy},
    {"access denied", Reason::kPolicy},
    {"relaying denied", Reason::kPolicy},
    {"relay not permitted", Reason::kPolicy},
    {"not authorized", Reason::kPolicy},
    {"not authorised", Reason::kPolicy},
    {"not permitted", Reason::kPolicy},
    {"authentication required", Reason::kPolicy},
    {"spf", Reason::kPolicy},
    {"dmarc", Reason::kPolicy},
    {"dkim", Reason::kPolicy},
    {"reputation", Reason::kPolicy},
    {"content rejected", Reason::kPolicy},
    {"message rejected", Reason::kPolicy},
    {"unsolicited", Reason::kPolicy},
    {"suspicious", Reason::kPolicy},
    {"virus", Reason::kPolicy},
    {"malware", Reason::kPolicy},
    {"phishing", Reason::kPolicy},
    {"indesirable", Reason::kPolicy},
    {"bloque", Reason::kPolicy},

    {"mailbox unavailable", Reason::kMailboxUnknown, false},
    {"mailbox not available", Reason::kMailboxUnknown, false},
    {"recipient address rejected", Reason::kMailboxUnknown, false},
    {"address rejected", Reason::kMailboxUnknown, false},
    {"recipient rejected", Reason::kMailboxUnknown, false},
    {"bad recipient", Reason::kMailboxUnknown, false},
    {"bad destination", Reason::kMailboxUnknown, false},
    {"adresse rejetee", Reason::kMailboxUnknown, false},
    {"destinataire refuse", Reason::kMailboxUnknown, false},
};

// The first phrase of kPhrases found at the start of a word of `diagnostic`.
std::optional<Phrase> find_phrase(std::string_view diagnostic) {
  if (diagnostic.empty()) return std::nullopt;
  std::string key = text::search_key(diagnostic);
  for (const Phrase& phrase : kPhrases) {
    for (size_t at = key.find(phrase.key); at != std::string::npos; at = key.find(phrase.key, at + 1)) {
      // A word start, so that "rbl" does not match inside another word. Dots count as word
      // separators too: "resolver.adr.recipientnotfound", "bl.spamcop.net".
      if (at == 0 || key[at - 1] == ' ' || key[at - 1] == '.') return phrase;
    }
  }
  return std::nullopt;
}

bool is_address_reason(Reason reason) {
  return reason == Reason::kMailboxUnknown || reason == Reason::kDomainUnknown ||
         reason == Reason::kMailboxDisabled;
}

// What a code says by itself. `generic` codes (x.0.0, x.1.0, x.2.0 ...) say "something about
// the address / mailbox / system": the diagnostic decides, `reason` is the fallback.
struct CodeMeaning {
  Reason reason;
  bool generic = false;
};

CodeMeaning meaning_of(const StatusCode& code) {
  switch (code.subject) {
    case 0: return {Reason::kOther, true};
    case 1:  // addressing status
      if (code.detail == 0) return {Reason::kMailboxUnknown, true};
      if (code.detail == 2 || code.detail == 10) return {Reason::kDomainUnknown};  // bad domain, null MX (RFC 7505)
      if (code.detail == 7 || code.detail == 8) return {Reason::kPolicy};  // the *sender's* address was refused
      if (code.detail == 5) return {Reason::kOther, true};                 // "destination address valid"
      return {Reason::kMailboxUnknown};
    case 2:  // mailbox status
      if (code.detail == 1) return {Reason::kMailboxDisabled};
      if (code.detail == 2) return {Reason::kMailboxFull};
      if (code.detail == 3) return {Reason::kMessageTooLarge};
      return {Reason::kOther, code.detail == 0};
    case 3:  // mail system status
      if (code.detail == 4) return {Reason::kMessageTooLarge};
      return {Reason::kSystem, code.detail == 0};
    case 4:  // network and routing status
      if (code.detail == 4) return {Reason::kDomainUnknown};  // unable to route: the domain has no mail host
      return {Reason::kTemporary, code.detail == 0};
    case 5:  // mail delivery protocol status
      return {Reason::kSystem, code.detail == 0};
    case 6:  // message content or media status
      return {Reason::kPolicy, code.detail == 0};
    case 7:  // security or policy status
      if (code.detail == 13) return {Reason::kMailboxDisabled};  // "user account disabled"
      return {Reason::kPolicy};
    default: return {Reason::kOther, true};
  }
}

}  // namespace

Classification classify_detailed(std::string_view status_code, std::string_view diagnostic,
                                 std::string_view action_text) {
  std::optional<Action> action = parse_action(action_text);
  if (action == Action::kDelivered || action == Action::kRelayed || action == Action::kExpanded)
    return {Kind::kNotABounce, Reason::kNone};

  std::optional<StatusCode> code = internal::find_status_code(status_code);
  std::optional<int> reply = code ? std::nullopt : internal::find_reply_code(status_code);
  std::optional<StatusCode> diagnostic_code = internal::find_status_code(diagnostic);
  if (!code && !reply) {
    code = diagnostic_code;
    if (!code) reply = internal::find_reply_code(diagnostic);
  } else if (code && code->subject == 0 && code->detail == 0 && diagnostic_code &&
             diagnostic_code->klass == code->klass) {
    code = diagnostic_code;  // "Status: 5.0.0" over "550 5.1.1 user unknown": the server's code says more
  }
  int klass = code ? code->klass : reply ? *reply / 100 : 0;
  if (klass == 2) return {Kind::kNotABounce, Reason::kNone};

  std::optional<Phrase> phrase = find_phrase(diagnostic);
  Reason reason = phrase ? phrase->reason : Reason::kOther;
  if (code) {
    CodeMeaning meaning = meaning_of(*code);
    reason = meaning.reason;
    if (meaning.generic) {
      if (phrase) reason = phrase->reason;
    } else if (code->subject == 7 && phrase && phrase->strong && is_address_reason(phrase->reason)) {
      reason = phrase->reason;  // some servers send 5.7.1 for "user unknown"; the address is still dead
    } else if (code->subject == 1 && code->detail == 10 && phrase && phrase->reason == Reason::kMailboxUnknown) {
      reason = Reason::kMailboxUnknown;  // Exchange uses 5.1.10 for "recipient not found", not null MX
    } else if (klass == 4 && reason == Reason::kPolicy && phrase && phrase->reason == Reason::kTemporary) {
      reason = Reason::kTemporary;  // "451 4.7.1 Greylisted": a delay, not a spam verdict
    }
  }

  // A delayed report, or a 4.x.x, is the server saying "not now": never final for the address.
  if (action == Action::kDelayed || klass == 4) return {Kind::kSoft, reason};
  // A permanent failure (or one with no class at all, which a bounce implies) is final only when it
  // is the address's fault; a full mailbox, a filter or an unexplained failure may pass, and
  // repeated soft bounces escalate anyway (apply_event).
  return {is_address_reason(reason) ? Kind::kHard : Kind::kSoft, reason};
}

Kind classify(std::string_view status_code, std::string_view diagnostic, std::string_view action) {
  return classify_detailed(status_code, diagnostic, action).kind;
}

}  // namespace fidelis::bounces
