// Phonex, Frédéric Brouard's French phonetic algorithm (1998; described with Soundex2 in his course
// "Le Soundex", sqlpro.developpez.com/cours/soundex). Written from the published rules; the step
// numbers below are Brouard's. Where the published text is ambiguous or misses a French case, the
// choice is said where it is made. Output: the letter string of step 16 (steps 17-18 only turn it
// into a base-22 float).
//
// Why Phonex and not Soundex2: Soundex2 keeps B and V apart, so Lefebvre (LFBV) and Lefèvre (LFVR)
// differ, and those are the variants customer files are full of. Phonex folds B/V/F and P/T/D.
#include <string>

#include "core/text.h"
#include "dedup/dedup.h"

namespace fidelis::dedup {

namespace {

bool is_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }
bool is_sound(char c) { return c >= '1' && c <= '4'; }

// Replaces every non-overlapping occurrence of `from`, left to right, when `next_ok` accepts the
// character after it ('\0' at the end of the word). In place: no Phonex replacement is longer
// than what it replaces, so the write position never passes the read position.
template <typename NextOk>
void replace_if(std::string& s, std::string_view from, std::string_view to, NextOk next_ok) {
  size_t w = 0;
  for (size_t i = 0; i < s.size();) {
    if (std::string_view(s).substr(i, from.size()) == from) {
      char next = i + from.size() < s.size() ? s[i + from.size()] : '\0';
      if (next_ok(next)) {
        for (char c : to) s[w++] = c;
        i += from.size();
        continue;
      }
    }
    s[w++] = s[i++];
  }
  s.resize(w);
}

void replace(std::string& s, std::string_view from, std::string_view to) {
  replace_if(s, from, to, [](char) { return true; });
}

}  // namespace

std::string phonex(std::string_view name) {
  // Accents folded first (search_key): customer files lose accents often, and a key that changes
  // with them would split Lefèvre from Lefevre. So the published "é, è, ê -> y" of step 7 never fires;
  // "ai", "ei", "er", "et", "ess" still do.
  std::string s;
  for (char c : text::search_key(name))
    if (c >= 'a' && c <= 'z') s += c;
  if (s.empty()) return s;

  // 1. y -> i.
  for (char& c : s)
    if (c == 'y') c = 'i';

  // 2. Drop every h not preceded by c, s or p (a leading h has no such letter before it).
  {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == 'h' && !(i > 0 && (s[i - 1] == 'c' || s[i - 1] == 's' || s[i - 1] == 'p'))) continue;
      out += s[i];
    }
    s = std::move(out);
  }

  // 3. ph -> f.
  replace(s, "ph", "f");

  // 4. Hard g before a nasal: gan -> kan, gam -> kam, gain -> kain, gaim -> kaim.
  replace(s, "gain", "kain");
  replace(s, "gaim", "kaim");
  replace(s, "gan", "kan");
  replace(s, "gam", "kam");

  // 5. ain, ein, aim, eim followed by a vowel are not nasal: -> yn.
  for (std::string_view from : {"ain", "ein", "aim", "eim"}) replace_if(s, from, "yn", is_vowel);

  // 6. eau -> o, oua -> 2, ein / ain / eim / aim -> 4.
  replace(s, "eau", "o");
  replace(s, "oua", "2");
  for (std::string_view from : {"ein", "ain", "eim", "aim"}) replace(s, from, "4");

  // 7. The "é" sound: ai, ei -> y; er -> yr; ess -> yss; et -> yt.
  replace(s, "ai", "y");
  replace(s, "ei", "y");
  replace(s, "er", "yr");
  replace(s, "ess", "yss");
  replace(s, "et", "yt");

  // 8. an, am, en, em -> 1 and in -> 4, unless followed by a vowel or a sound 1-4. Also not before
  // the same doubled consonant (Jeanne, Emmanuel, Anne: the vowel is not nasal there), a case the
  // published list misses; without it Emmanuel and Emanuel would part.
  auto nasal = [](char doubled) {
    return [doubled](char next) { return !is_vowel(next) && !is_sound(next) && next != 'y' && next != doubled; };
  };
  replace_if(s, "an", "1", nasal('n'));
  replace_if(s, "am", "1", nasal('m'));
  replace_if(s, "en", "1", nasal('n'));
  replace_if(s, "em", "1", nasal('m'));
  replace_if(s, "in", "4", nasal('n'));

  // 9. s between two vowels (or sounds 1-4) -> z. "y" counts as a vowel: after step 7 it is "é".
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    auto voiced = [](char c) { return is_vowel(c) || is_sound(c) || c == 'y'; };
    if (s[i] == 's' && voiced(s[i - 1]) && voiced(s[i + 1])) s[i] = 'z';
  }

  // 10. oe, eu -> e; au -> o; oi, oy -> 2; ou -> 3.
  replace(s, "oe", "e");
  replace(s, "eu", "e");
  replace(s, "au", "o");
  replace(s, "oi", "2");
  replace(s, "oy", "2");
  replace(s, "ou", "3");

  // 11. sch, ch, sh -> 5 (longest first, or "sch" would become "s5").
  replace(s, "sch", "5");
  replace(s, "ch", "5");
  replace(s, "sh", "5");
  // 12. c before e or i -> s. Done before the "ss / sc -> s" half of step 11 so that "sc" is only
  // merged where it sounds "s" (piscine, science), not in Pascal or Escoffier, where c is hard.
  replace_if(s, "c", "s", [](char next) { return next == 'e' || next == 'i'; });
  replace(s, "ss", "s");

  // 13. qu, gu -> k (before c and q, or "qu" would already be "ku"); c, q -> k; ga, go, gy -> ka, ko, ky.
  replace(s, "qu", "k");
  replace(s, "gu", "k");
  for (char& c : s)
    if (c == 'c' || c == 'q') c = 'k';
  replace(s, "ga", "ka");
  replace(s, "go", "ko");
  replace(s, "gy", "ky");

  // 14. a -> o, d -> t, p -> t, j -> g, b -> f, v -> f, m -> n.
  for (char& c : s) {
    switch (c) {
      case 'a': c = 'o'; break;
      case 'd':
      case 'p': c = 't'; break;
      case 'j': c = 'g'; break;
      case 'b':
      case 'v': c = 'f'; break;
      case 'm': c = 'n'; break;
      default: break;
    }
  }

  // 15. Collapse repeated letters.
  std::string out;
  for (char c : s)
    if (out.empty() || out.back() != c) out += c;

  // 16. Drop a final t or x (silent in French).
  if (out.size() > 1 && (out.back() == 't' || out.back() == 'x')) out.pop_back();
  return out;
}

}  // namespace fidelis::dedup
