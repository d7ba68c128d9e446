#pragma once
// dedup: record linkage (duplicate detection) for customer profiles. Pure: no database, no I/O.
//
// The pipeline, each step usable alone:
//   1. comparators   jaro_winkler, damerau_levenshtein, edit_similarity, exact_match, phonex;
//   2. blocking      blocking_keys(): which records are worth comparing at all;
//   3. comparison    compare(): one agreement level per field (first name, last name, e-mail, ...);
//   4. model         Model: a Fellegi-Sunter model turning a comparison into a score (log2 likelihood
//                    ratio) and a Decision (merge / review / distinct); EM estimation of m and u;
//   5. matching      find_pairs() / match(): blocking + scoring over a whole set of records;
//   6. evaluation    generate_test_set() (labelled French data with realistic corruptions) and
//                    evaluate() (pairwise precision / recall / F1 against the ground truth).
//
// Text is UTF-8. Names, streets and cities are compared after text::search_key (lower-case, accents
// folded, punctuation collapsed), on code points, so "LEFÈVRE" and "Lefevre" are equal.
//
// Thread-safety: every free function is pure and may be called from any thread. A Model is
// immutable once built; one Model may be shared by any number of threads.
//
// Errors: only functions that can be given bad input return Result; each says which code.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace fidelis::dedup {

// One profile as the matcher sees it: flat strings, empty meaning "unknown". `source` and
// `external_id` say where the record came from; they are carried through, never compared.
struct Record {
  int64_t id = 0;
  std::string source;
  std::string external_id;
  std::string first_name, last_name, email, phone_e164, birth_date /*YYYY-MM-DD; --MM-DD (no year) reads as none*/, street, postcode, city;
};

// ---------------------------------------------------------------------------------------------
// 1. Field comparators. All return values in [0, 1] (1 = identical) unless said otherwise.

// Decodes UTF-8 into code points; an invalid byte becomes U+FFFD.
std::u32string to_code_points(std::string_view utf8);

// Jaro similarity of two code point sequences (two empty sequences are identical: 1).
double jaro(std::u32string_view a, std::u32string_view b);
// Jaro-Winkler (prefix scale 0.1, prefix up to 4, boost only when Jaro > 0.7, as Winkler 1990).
double jaro_winkler(std::u32string_view a, std::u32string_view b);
// Jaro-Winkler of search_key(a) and search_key(b): case, accents and punctuation do not count.
double jaro_winkler(std::string_view a, std::string_view b);

// Edit distances in code points: Levenshtein (insert, delete, substitute) and Damerau (the
// "optimal string alignment" variant: adjacent transpositions also cost 1, no substring edited twice).
size_t levenshtein(std::u32string_view a, std::u32string_view b);
size_t damerau_levenshtein(std::u32string_view a, std::u32string_view b);
// 1 - damerau_levenshtein / longer length, on search keys (used for streets). Both empty: 1.
double edit_similarity(std::string_view a, std::string_view b);
// True when both search keys are equal and not empty.
bool exact_match(std::string_view a, std::string_view b);

// French phonetic key of a name: Frédéric Brouard's "Phonex" (1998, published with his Soundex2 in
// "Le Soundex", sqlpro.developpez.com), kept as its letter string instead of the final base-22 float
// (the float encodes that string and makes a poor hash key). Accents are folded first, so a missing
// accent changes nothing. "Lefèvre", "Lefebvre", "Lefebre" -> "lefefre"; "Dupond", "Dupont" ->
// "tuton"; "Thomas", "Tomas" -> "tonos"; "Philippe", "Filippe" -> "filite". Empty for no letters.
std::string phonex(std::string_view name);

struct Date {
  int year = 0, month = 0, day = 0;
  friend bool operator==(const Date&, const Date&) = default;
};
// Strict "YYYY-MM-DD" with a real calendar day (leap years counted), years 1800..2200; else nullopt.
std::optional<Date> parse_date(std::string_view s);

// ---------------------------------------------------------------------------------------------
// 2. Blocking: two records are compared only when they share at least one key. Each kind catches
// duplicates the others miss (a new e-mail, a move, a typo in the surname, a missing birth date).

enum class KeyKind : uint8_t {
  kEmail,          // "e:"  mailbox_key(email) (core/email.h)
  kPhone,          // "p:"  E.164 phone ("+33647219358")
  kNamePostcode,   // "np:" phonex(last) + postcode
  kNameBirth,      // "nb:" search_key(last), search_key(first) + birth date
  kPhoneticYear,   // "ff:" phonex(first), phonex(last) + birth year
  kFirstBirth,     // "fb:" search_key(first) + birth date: a mistyped or changed surname
  kAddress,        // "ad:" postcode + street (abbreviations expanded): a mistyped name at home
};
inline constexpr size_t kKeyKindCount = 7;
std::string_view key_prefix(KeyKind k);  // "e:", "p:", "np:", "nb:", "ff:", "fb:", "ad:"

// The keys of one record, at most one per kind, in KeyKind order; a kind whose inputs are missing
// gives no key. In "nb:" and "ff:" the two names are put in sorted order, so a record with first and
// last name swapped still shares the block.
struct BlockingKey {
  KeyKind kind;
  std::string key;  // with its prefix, e.g. "np:tuton|75011"
};
std::vector<BlockingKey> blocking_keys(const Record& r);

// ---------------------------------------------------------------------------------------------
// 3. Comparison.

enum class Field : uint8_t { kFirstName, kLastName, kEmail, kPhone, kBirthDate, kPostcode, kStreet, kCity };
inline constexpr size_t kFieldCount = 8;
inline constexpr int kMaxLevels = 4;
std::string_view field_name(Field f);  // "first_name", "last_name", "email", ...

// Agreement levels per field, 0 = disagree, higher = stronger agreement:
//   first_name, last_name  0 different, 1 similar (JW >= 0.85), 2 close (JW >= 0.93), 3 same
//   email                  0 different, 1 same local part (separators aside) or one letter off,
//                          2 same normalised address
//   phone                  0 different, 1 same French fixed line (+331..+335, +339), 2 same other number
//   birth_date             0 different, 1 partial (same year and month, or day and month swapped), 2 same
//   postcode               0 different, 1 same département (first two digits), 2 same
//   street                 0 different, 1 similar (edit similarity >= 0.75), 2 same (>= 0.92)
//   city                   0 different, 1 similar (JW >= 0.90), 2 same
// kMissing: the field is empty (or unparsable) on either side; it counts neither way.
inline constexpr int8_t kMissing = -1;
int level_count(Field f);
std::string_view level_name(Field f, int level);  // "same", "close", "partial", "missing", ...

struct Comparison {
  std::array<int8_t, kFieldCount> level{};       // per Field, kMissing or 0..level_count-1
  std::array<float, kFieldCount> similarity{};   // the comparator's raw value, for display
  bool names_swapped = false;  // first/last compared crosswise because that agreed better
  bool same_address = false;   // same postcode and a similar street: the household context
};

// A record normalised once for many comparisons: search keys, e-mail key, abbreviations expanded,
// date parsed. Compact (one buffer): a million of them take about 180 MB.
class PreparedRecord {
 public:
  enum class Part : uint8_t { kFirst, kLast, kEmail, kPhone, kPostcode, kStreet, kCity };
  static constexpr size_t kPartCount = 7;

  PreparedRecord() = default;
  explicit PreparedRecord(const Record& r);

  std::string_view part(Part p) const {
    size_t b = p == Part::kFirst ? 0 : end_[static_cast<size_t>(p) - 1];
    return std::string_view(text_).substr(b, end_[static_cast<size_t>(p)] - b);
  }
  const std::optional<Date>& birth() const { return birth_; }

 private:
  std::string text_;
  std::array<uint32_t, kPartCount> end_{};
  std::optional<Date> birth_;
};

// Compares two records field by field. First and last names are also compared crosswise; when that
// agrees better (sum of Jaro-Winkler), the crosswise levels are kept and names_swapped is set.
Comparison compare(const PreparedRecord& a, const PreparedRecord& b);
Comparison compare(const Record& a, const Record& b);

// ---------------------------------------------------------------------------------------------
// 4. The Fellegi-Sunter model.
//
// For each field and level, m = P(level | same person) and u = P(level | different people) among
// candidate pairs; agreement weight = log2(m / u); the score of a pair is the sum of its field weights
// (a missing field adds 0). Two dependencies that plain Fellegi-Sunter gets wrong are modelled:
//   - households: at one address, different people often share the surname and the landline, so the
//     last_name and phone parameters are kept twice, once for pairs in the same-address context
//     (Comparison::same_address) and once for the rest;
//   - the address is one thing seen three times: the street is weighed in two contexts (same
//     postcode or not: a different street in the same postcode speaks against a match, in another
//     postcode it says "moved"), and the city only when the postcodes differ.
// Score thresholds: score >= merge -> kMerge (safe to merge without a human), score >= review ->
// kReview (show to an agent), else kDistinct.

enum class Decision : uint8_t { kDistinct, kReview, kMerge };
std::string_view decision_name(Decision d);  // "distinct", "review", "merge"

struct Thresholds {
  double review = 0;  // lower threshold, in log2 likelihood-ratio units
  double merge = 0;   // upper threshold; must be >= review
};

// m and u for one field: [context][level]. Context 1 is the same-address context for last_name and
// phone, the same-postcode context for street; other fields have one context and ignore the second.
struct FieldParams {
  std::array<std::array<double, kMaxLevels>, 2> m{}, u{};
};

struct EmOptions {
  int max_iterations = 200;
  double tolerance = 1e-6;          // stop when no probability moves more than this
  double min_probability = 1e-5;    // m, u and the match share are kept in [min, 1 - min]
  bool estimate_u = true;           // false: keep the configured u (e.g. measured on random pairs)
};

struct EmResult;

class Model {
 public:
  // Hand-set parameters for French customer data (model.cpp gives the reasoning per field);
  // thresholds review 12, merge 18, chosen on generate_test_set(seed 1) and checked on other seeds.
  static Model default_french();
  // InvalidArgument ("params[<field>]") when a probability is not in (0, 1) or a field's levels do
  // not sum to 1 (within 1e-6) in a used context; InvalidArgument ("thresholds") when review > merge.
  static Result<Model> create(const std::array<FieldParams, kFieldCount>& params, Thresholds thresholds);

  // Whether field `f` is weighed for comparison `c` (false when missing, or city after a postcode match).
  static bool counts(const Comparison& c, Field f);
  // Whether field `f` has a second parameter context (last_name, phone, street).
  static bool has_context(Field f);
  // Parameter context of field `f` in comparison `c`: 1 for last_name and phone when same_address,
  // for street when the postcodes are the same; else 0.
  static int context(const Comparison& c, Field f);

  double m(Field f, int level, int context = 0) const;
  double u(Field f, int level, int context = 0) const;
  double weight(Field f, int level, int context = 0) const;  // log2(m / u); 0 for kMissing
  std::array<double, kFieldCount> field_weights(const Comparison& c) const;  // 0 where !counts
  double score(const Comparison& c) const;  // sum of field_weights
  Decision decide(double score) const;  // by the thresholds alone
  // The decision for a pair: by the thresholds, except that a pair goes to review instead of a
  // merge unless an e-mail, a phone or a whole birth date agrees (levels >= 1, >= 1, 2) or the
  // street does (>= 1): names and a postcode alone, whatever else is missing or differs, are what
  // namesakes share, and are not merged unseen.
  Decision decide(const Comparison& c, double score) const;
  const Thresholds& thresholds() const { return thresholds_; }
  const std::array<FieldParams, kFieldCount>& params() const { return params_; }
  Model with_thresholds(Thresholds t) const;  // review > merge is clamped to review = merge

  // Winkler's EM for Fellegi-Sunter: estimates the match share and m (and u unless told not to)
  // from unlabelled comparisons of candidate pairs, starting from this model's parameters (which
  // fixes which class is "match": start from default_french()). Missing fields are ignored
  // (missing at random). Probabilities are clamped to [min_probability, 1 - min_probability] after
  // every step so no weight becomes infinite. Thresholds are kept.
  // InvalidArgument ("pairs") when `pairs` is empty; InvalidArgument ("options") for
  // max_iterations < 1 or a min_probability outside (0, 0.01]; FailedPrecondition ("pairs") when
  // EM collapses (the match share reaches its bound: the pairs hold no second class).
  Result<EmResult> estimate(std::span<const Comparison> pairs, const EmOptions& options = {}) const;

 private:
  Model() = default;
  void refresh_weights();

  std::array<FieldParams, kFieldCount> params_{};
  std::array<std::array<std::array<double, kMaxLevels>, 2>, kFieldCount> weights_{};
  Thresholds thresholds_;
};

// A model's parameters as text: "<field> <context> m|u <one value per level>" lines, commented
// with the level names ('#' starts a comment). model_from_text starts from default_french() and
// replaces the rows the text gives; InvalidArgument naming "line N" for an unreadable line, or
// "params[<field>]" from Model::create when a row does not sum to 1.
std::string model_to_text(const Model& model);
Result<Model> model_from_text(std::string_view text, Thresholds thresholds);

struct EmResult {
  Model model;
  double match_share = 0;  // estimated P(match) among the pairs
  int iterations = 0;
  bool converged = false;  // false: stopped at max_iterations
};

// Whether an estimate can score duplicates: EM finds *a* split of the pairs in two classes, which is
// the duplicates only when the pairs hold enough of them. FailedPrecondition when it did not
// converge ("iterations"), when the "match" class is most of the pairs ("match_share", above 0.5),
// or when agreeing on a field counts against a match, or disagreeing for it ("params[<field>]").
Status check_estimate(const EmResult& r);
// `estimated` where the pairs teach something, `prior` elsewhere: a field that fewer than
// `min_pairs` of the pairs show agreeing (its top level), or disagreeing (level 0), keeps `prior`'s
// parameters, since EM cannot learn a level it does not see (live customers never share an
// e-mail address, say). Its fields are added to `kept`. Thresholds are `estimated`'s.
Model keep_unlearned(const Model& estimated, const Model& prior, std::span<const Comparison> pairs, size_t min_pairs,
                     std::vector<Field>& kept);

// ---------------------------------------------------------------------------------------------
// 5. Matching a set of records.

struct ScoredPair {
  uint32_t a = 0, b = 0;  // indexes into the records given, a < b
  int64_t a_id = 0, b_id = 0;
  double score = 0;
  Decision decision = Decision::kDistinct;
  Comparison comparison;  // per field, for showing the two records side by side
};

struct MatchOptions {
  // A block (records sharing one key) larger than this is skipped: its records are still compared
  // through their other keys. Keeps the work linear when a key is common ("p:" of a call centre).
  size_t max_block_size = 200;
  bool keep_distinct = false;  // also return scored pairs below the review threshold
  // Threads used (the caller's included), for normalising and for scoring; the result does not
  // depend on it. Small inputs use fewer.
  unsigned threads = 1;
};

struct MatchStats {
  size_t records = 0;
  size_t keys = 0;                 // blocking keys produced
  size_t blocks = 0;               // distinct keys shared by two records or more
  size_t oversized_blocks = 0;     // of those, skipped for exceeding max_block_size
  size_t records_in_oversized = 0; // sum of the sizes of the skipped blocks
  std::array<size_t, kKeyKindCount> oversized_by_kind{};
  size_t compared_pairs = 0;       // distinct pairs scored
  std::array<size_t, 3> decisions{};  // compared pairs per Decision
};

struct MatchResult {
  std::vector<ScoredPair> pairs;  // best score first
  MatchStats stats;
};

// Blocks the records, scores every distinct pair sharing a key once, and returns the pairs at or
// above the review threshold (all scored pairs with keep_distinct), best first.
// Cost: O(n log n) to group the at most 5n keys (64-bit hashes sorted, no string maps) plus
// O(sum over kept blocks of size^2) comparisons, each block bounded by max_block_size^2 / 2.
// Memory: about 350 bytes per record while it runs, plus 80 bytes per returned pair.
// A 64-bit hash collision between two keys merges their blocks: it can only add candidate pairs.
// InvalidArgument ("records") beyond 2^32 - 2 records; ("max_block_size") below 2; ("threads")
// outside 1..64. ResourceExhausted ("records") when memory runs out, Internal on any other
// exception in a matching thread: the error comes back to the caller, the process goes on.
Result<MatchResult> match(std::span<const Record> records, const Model& model, const MatchOptions& options = {});
// match() with default options; returns only the pairs (empty on the errors above).
std::vector<ScoredPair> find_pairs(std::span<const Record> records, const Model& model);

// ---------------------------------------------------------------------------------------------
// 6. Labelled test data and evaluation.

struct TestSetOptions {
  uint64_t seed = 1;
  size_t people = 14000;          // distinct clean people before hard negatives
  double duplicate_rate = 0.35;   // share of people given 1..3 corrupted duplicates
  double household_rate = 0.10;   // share given a household member (same surname and address)
  double namesake_rate = 0.04;    // share given a namesake (same first and last name, same city)
};

struct TestSet {
  std::vector<Record> records;   // ids 1..n, shuffled so duplicates are not adjacent
  std::vector<int64_t> cluster;  // ground truth: cluster[i] is the person behind records[i]
  size_t true_pairs = 0;         // pairs of records of the same person
};

// Deterministic for a given seed. Clean people come from customers::demo's French names and places;
// duplicates get typos (insertion, deletion, substitution, transposition), swapped names, lost
// accents, upper case, e-mail variants (dots, +tags, other domain, new address), phone written in
// other formats (same E.164 once normalised) or missing, a moved address, missing fields and birth
// day/month swaps. Hard negatives: household members (same surname and address, sometimes the same
// landline) and namesakes (same first and last name in the same city).
// InvalidArgument ("options") when a rate is outside [0, 1] or people is 0.
Result<TestSet> generate_test_set(const TestSetOptions& options);

struct Metrics {
  uint64_t true_positives = 0, false_positives = 0, false_negatives = 0;
  double precision = 1, recall = 1, f1 = 1;  // precision 1 when nothing is predicted
};

struct Evaluation {
  Metrics merge;            // pairs decided kMerge
  Metrics merge_or_review;  // pairs decided kMerge or kReview
  uint64_t true_pairs = 0;
};

// Pairwise metrics of the decisions against the ground truth (no transitive closure: a pair is
// predicted only when it was scored so). Pairs repeated are counted once.
// InvalidArgument ("pairs") when a pair indexes outside `cluster`.
Result<Evaluation> evaluate(std::span<const ScoredPair> pairs, std::span<const int64_t> cluster);

}  // namespace fidelis::dedup

