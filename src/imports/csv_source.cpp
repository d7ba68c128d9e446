// Streaming CSV reading: libcsv for RFC 4180 parsing, uchardet to recognise the encoding, iconv to
// convert it to UTF-8. The file is fed to the parser one physical line at a time, which is how each
// record knows the line it starts on.

#include <csv.h>
#include <fmt/format.h>
#include <iconv.h>
#include <uchardet/uchardet.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>

#include "core/text.h"
#include "imports/imports.h"

namespace fidelis::imports {

namespace {

constexpr size_t kChunk = 1 << 20;
constexpr size_t kSample = 64 << 10;
// A quoted field may span lines, up to this much text for its record: past it, the quote that
// opened the field is taken for a stray one (as at the end of the file).
constexpr size_t kMaxRecordBytes = 1 << 20;
// What a byte the file's encoding leaves undefined becomes (U+FFFD, the replacement character).
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// UTF-8: valid (a character cut at the end of the sample aside), or nearly: a line or two pasted
// from a Windows-1252 file among many UTF-8 characters (at least four valid characters above
// ASCII per invalid byte). Such lines are converted as they are read (CsvSource::next).
bool utf8_sample(std::string_view s) {
  size_t valid = 0, invalid = 0;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
    if (n != 0 && i + n > s.size()) break;  // cut at the end of the sample
    if (n != 0 && text::is_valid_utf8(s.substr(i, n))) {
      ++valid;
      i += n;
    } else {
      ++invalid;
      ++i;
    }
  }
  return invalid == 0 || valid >= 4 * invalid;
}

// When the sample is plain ASCII, it says nothing of the encoding: the text from the file's first
// byte above 0x7F (up to 64 KiB of it) does. Empty when the whole file is ASCII.
std::string first_non_ascii_text(std::FILE* file) {
  std::string chunk(1 << 20, '\0');
  long offset = std::ftell(file);
  for (;;) {
    size_t n = std::fread(chunk.data(), 1, chunk.size(), file);
    if (n == 0) return {};
    auto high = std::find_if(chunk.begin(), chunk.begin() + static_cast<long>(n),
                             [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    if (high != chunk.begin() + static_cast<long>(n)) {
      std::fseek(file, offset + (high - chunk.begin()), SEEK_SET);
      std::string window(kSample, '\0');
      window.resize(std::fread(window.data(), 1, window.size(), file));
      return window;
    }
    offset += static_cast<long>(n);
  }
}

// Fields per line for `delim`, outside double quotes, over the first lines of the sample. Each line
// is counted on its own: a stray quote on one line must not swallow the lines after it.
std::vector<int> counts(std::string_view sample, char delim) {
  std::vector<int> out;
  int n = 1;
  bool quoted = false, any = false;
  for (char c : sample) {
    if (c == '"') quoted = !quoted;
    else if (!quoted && c == delim) ++n;
    else if (c == '\n' || c == '\r') {  // CR alone ends a line too (old Mac files); CRLF ends one with an empty one
      if (any) out.push_back(n);
      n = 1;
      quoted = false;
      any = false;
      if (out.size() >= 30) break;
      continue;
    }
    any = true;
  }
  if (any && out.size() < 30) out.push_back(n);
  return out;
}

// Lines end in LF (or CRLF), or in CR alone in the files of old Mac spreadsheets: a sample with CRs
// and no LF says which.
char line_break_of(std::string_view sample) {
  return sample.find('\n') == std::string_view::npos && sample.find('\r') != std::string_view::npos ? '\r' : '\n';
}

// Mac OS Roman, what Excel for Mac writes as "CSV (Macintosh)", puts French accented letters
// (é 0x8E, è 0x8F, à 0x88, ç 0x8D, ê 0x90...) in 0x80-0x9F, where Windows-1252 has symbols and
// undefined bytes, and Windows-1252 puts them in 0xC0-0xFF: whichever holds more of the sample's
// accented letters is its encoding. (0x91, 0x94, 0x95 are left out: curly quotes and a bullet in
// Windows-1252.)
bool mac_roman(std::string_view sample) {
  int mac = 0, windows = 0;
  for (char ch : sample) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case 0x83: case 0x87: case 0x88: case 0x89: case 0x8A: case 0x8D: case 0x8E: case 0x8F:
      case 0x90: case 0x99: case 0x9A: case 0x9D: case 0x9E: case 0x9F: ++mac; break;
      default:
        if (c >= 0xC0 && c != 0xD7 && c != 0xF7) ++windows;
    }
  }
  return mac > windows;
}

}  // namespace

namespace {

// UTF-16 without its byte-order mark (iconv -t UTF-16LE, some exports): Latin text holds a NUL in
// every other byte, on the side its byte order says. "UTF-16LE", "UTF-16BE" or nullopt.
std::optional<std::string> utf16_without_bom(std::string_view sample) {
  size_t even = 0, odd = 0;
  for (size_t i = 0; i + 1 < sample.size(); i += 2) {
    even += sample[i] == '\0';
    odd += sample[i + 1] == '\0';
  }
  const size_t pairs = sample.size() / 2;
  if (pairs < 4) return std::nullopt;
  if (odd * 10 >= pairs * 7 && even * 20 <= pairs) return "UTF-16LE";
  if (even * 10 >= pairs * 7 && odd * 20 <= pairs) return "UTF-16BE";
  return std::nullopt;
}

}  // namespace

Dialect detect_dialect(std::string_view sample) {
  Dialect d;
  const bool utf16_bom = sample.starts_with("\xFF\xFE") || sample.starts_with("\xFE\xFF");
  if (std::optional<std::string> wide = utf16_bom ? std::nullopt : utf16_without_bom(sample)) {
    d.encoding = *wide;
  } else if (sample.starts_with("\xEF\xBB\xBF")) {
    d.bom = true;
    sample.remove_prefix(3);
  } else if (!utf8_sample(sample)) {
    uchardet_t ud = uchardet_new();
    uchardet_handle_data(ud, sample.data(), sample.size());
    uchardet_data_end(ud);
    std::string found = uchardet_get_charset(ud);
    uchardet_delete(ud);
    // Windows-1252 is Latin-1 plus the printable characters French needs in 0x80-0x9F (œ, €, ’).
    // Other single-byte guesses come from samples too short to tell (a few accented names read as
    // MAC-CENTRALEUROPE): the files Fidelis imports are French and Western European, so they are
    // Windows-1252 too. Only UTF-16 and UTF-32, which have no such doubt, are kept as found.
    if (!found.starts_with("UTF-16") && !found.starts_with("UTF-32")) found = mac_roman(sample) ? "MACINTOSH" : "WINDOWS-1252";
    d.encoding = found;
  }
  // The header's field count must hold on most lines (a line ending in one more delimiter, as
  // spreadsheets write them, holds it too); among such candidates, the most fields. When none holds
  // (a short file with a stray quote, uneven rows), the one that splits the header most.
  int best = 0, widest = 0;
  char consistent = 0, header_split = 0;
  for (char delim : {',', ';', '\t'}) {
    std::vector<int> c = counts(sample, delim);
    if (c.empty() || c[0] < 2) continue;
    int same = static_cast<int>(std::count_if(c.begin(), c.end(), [&](int n) { return n == c[0] || n == c[0] + 1; }));
    if (same * 10 >= static_cast<int>(c.size()) * 8 && c[0] > best) {
      best = c[0];
      consistent = delim;
    }
    if (c[0] > widest) {
      widest = c[0];
      header_split = delim;
    }
  }
  if (consistent) d.delimiter = consistent;
  else if (header_split) d.delimiter = header_split;
  return d;
}

std::string csv_line(std::span<const std::string> fields, char delimiter) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += delimiter;
    const std::string& f = fields[i];
    bool quote = f.find_first_of(std::string("\"\r\n") + delimiter) != std::string::npos ||
                 (!f.empty() && (f.front() == ' ' || f.back() == ' '));
    if (!quote) {
      out += f;
      continue;
    }
    out += '"';
    for (char c : f) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }
  return out;
}

struct CsvSource::Impl {
  std::FILE* file = nullptr;
  Dialect dialect;
  int64_t size = 0;
  int64_t bytes_read = 0;
  iconv_t conv = reinterpret_cast<iconv_t>(-1);
  csv_parser parser{};
  bool eof = false;
  std::string buffer;    // converted UTF-8 text; buffer[pos..] not yet fed
  size_t pos = 0;
  std::string raw;       // bytes read, not yet converted
  int64_t converted_in = 0, converted_out = 0;
  char eol = '\n';       // what ends a line: LF (CRLF included) or, in old Mac files, CR
  int64_t line = 0;      // physical lines fed so far
  int64_t record_start = 1;
  bool record_open = false;  // a record began on an earlier line and has not ended
  int64_t records = 0;
  std::vector<std::string> fields;
  std::string text;  // the current record's text so far, for a record whose quoting is broken
  std::deque<CsvRecord> ready;

  iconv_t from_1252 = reinterpret_cast<iconv_t>(-1);  // for stray Windows-1252 lines of a UTF-8 file
  std::string converted_line;

  ~Impl() {
    if (file != nullptr) std::fclose(file);
    if (conv != reinterpret_cast<iconv_t>(-1)) iconv_close(conv);
    if (from_1252 != reinterpret_cast<iconv_t>(-1)) iconv_close(from_1252);
    csv_free(&parser);
  }

  static void on_field(void* data, size_t len, void* self) {
    auto* impl = static_cast<Impl*>(self);
    impl->fields.emplace_back(static_cast<const char*>(data), len);
  }
  static void on_record(int, void* self) {
    auto* impl = static_cast<Impl*>(self);
    CsvRecord r;
    r.number = ++impl->records;
    r.line = impl->record_start;
    r.fields = std::move(impl->fields);
    impl->fields.clear();
    if (impl->conv != reinterpret_cast<iconv_t>(-1)) {
      auto bad = std::find_if(r.fields.begin(), r.fields.end(),
                              [](const std::string& f) { return f.find(kReplacement) != std::string::npos; });
      if (bad != r.fields.end()) {
        r.malformed = fmt::format("line {}: a byte that is no character in {} (shown as \u00AB{}\u00BB): the line was "
                                  "perhaps saved in another encoding",
                                  r.line, impl->dialect.encoding, kReplacement);
        r.malformed_column = static_cast<size_t>(bad - r.fields.begin());
        r.raw = csv_line(r.fields, impl->dialect.delimiter);
      }
    }
    impl->ready.push_back(std::move(r));
  }

  Status fill() {
    // Read a chunk, convert it to UTF-8 and append it to `buffer` (dropping what was fed).
    buffer.erase(0, pos);
    pos = 0;
    std::string chunk(kChunk, '\0');
    // The file as it was when opened: bytes appended since (a file still being written) are not read.
    const int64_t left = size - bytes_read;
    size_t n = left <= 0 ? 0 : std::fread(chunk.data(), 1, static_cast<size_t>(std::min<int64_t>(kChunk, left)), file);
    chunk.resize(n);
    bytes_read += static_cast<int64_t>(n);
    if (n == 0) {
      eof = true;
      return ok();
    }
    if (conv == reinterpret_cast<iconv_t>(-1)) {
      buffer += chunk;
      return ok();
    }
    raw += chunk;
    std::string out(raw.size() * 3 + 16, '\0');
    char* in_p = raw.data();
    size_t in_left = raw.size();
    char* out_p = out.data();
    size_t out_left = out.size();
    const bool single_byte = !dialect.encoding.starts_with("UTF-");
    while (iconv(conv, &in_p, &in_left, &out_p, &out_left) == static_cast<size_t>(-1) && errno != EINVAL) {
      // A byte a single-byte encoding leaves undefined (0x81 in Windows-1252) becomes U+FFFD, and
      // the record holding it is set aside (on_record): one bad byte costs its line, not the file.
      if (errno != EILSEQ || !single_byte || out_left < 3)
        return Error::invalid_argument("file", "text that is not valid " + dialect.encoding + " near byte " +
                                                   std::to_string(bytes_read - static_cast<int64_t>(in_left)));
      std::memcpy(out_p, kReplacement.data(), kReplacement.size());
      out_p += kReplacement.size();
      out_left -= kReplacement.size();
      ++in_p;
      --in_left;
    }
    out.resize(out.size() - out_left);
    converted_in += static_cast<int64_t>(raw.size() - in_left);
    converted_out += static_cast<int64_t>(out.size());
    buffer += out;
    raw.erase(0, raw.size() - in_left);  // keep an incomplete multibyte sequence for the next chunk
    return ok();
  }

  // A line of a UTF-8 file that is not valid UTF-8 was most likely pasted from a Windows-1252 file
  // (merged exports): it is read as such. One that is not valid Windows-1252 either stays as it is
  // (its values are then flagged as not UTF-8).
  std::string_view as_utf8(std::string_view l) {
    if (conv != reinterpret_cast<iconv_t>(-1) || text::is_valid_utf8(l)) return l;
    if (from_1252 == reinterpret_cast<iconv_t>(-1)) from_1252 = iconv_open("UTF-8", "WINDOWS-1252");
    if (from_1252 == reinterpret_cast<iconv_t>(-1)) return l;
    iconv(from_1252, nullptr, nullptr, nullptr, nullptr);
    std::string in(l);
    converted_line.assign(in.size() * 3 + 4, '\0');
    char* in_p = in.data();
    size_t in_left = in.size();
    char* out_p = converted_line.data();
    size_t out_left = converted_line.size();
    if (iconv(from_1252, &in_p, &in_left, &out_p, &out_left) == static_cast<size_t>(-1)) return l;
    converted_line.resize(converted_line.size() - out_left);
    return converted_line;
  }

  // Where the line starting at `pos` of `buf` ends: the index of its line break, or of its last
  // byte when `whole` (`buf` runs to the end of the file, whose last line needs no break); npos when
  // `buf` holds no whole line yet. In LF files a CR alone ends a line too (mixed line ends: a header
  // ending in LF above rows ending in CR), never CRLF's.
  size_t line_end(std::string_view buf, size_t pos, bool whole) const {
    size_t nl = buf.find(eol, pos);
    const bool last = nl == std::string_view::npos && whole && pos < buf.size();
    const size_t limit = nl != std::string_view::npos ? nl : last ? buf.size() : std::string_view::npos;
    if (limit != std::string_view::npos && eol == '\n' && limit > pos) {
      if (const void* cr = std::memchr(buf.data() + pos, '\r', limit - pos); cr != nullptr) {
        size_t at = static_cast<size_t>(static_cast<const char*>(cr) - buf.data());
        if (at + 1 < limit) return at;
      }
    }
    if (nl != std::string_view::npos) return nl;
    return last ? buf.size() - 1 : std::string_view::npos;
  }

  void feed_line(std::string_view l) {
    ++line;
    bool blank = l == "\n" || l == "\r\n" || l == "\r";
    if (!record_open && blank) {  // empty line between records: libcsv skips it, so do we
      record_start = line + 1;
      return;
    }
    size_t before = ready.size();
    if (!record_open) {
      record_start = line;
      text.clear();
    }
    text += l;
    csv_parse(&parser, l.data(), l.size(), on_field, on_record, this);
    if (csv_error(&parser) != CSV_SUCCESS) return set_aside_malformed();
    bool ended = ready.size() > before;
    record_open = !ended || !fields.empty();
    if (ended) record_start = line + 1;
    if (record_open && text.size() > kMaxRecordBytes) set_aside_unclosed("runs on past 1 MiB of text");
  }

  // The record being read opened a quoted field that never closes (at the end of the file, or past
  // kMaxRecordBytes).
  void set_aside_unclosed(std::string_view how) {
    set_aside_first_line(fmt::format("line {}: a quoted field opens and never closes (it {}): a quote inside a "
                                     "field must be doubled, and the field quoted",
                                     record_start, how));
  }

  // The first line of the record being read becomes a record that says `why`, and the lines after
  // it are read again as records of their own.
  void set_aside_first_line(std::string why) {
    std::string all = std::move(text);
    text.clear();
    size_t first_end = line_end(all, 0, true);
    std::string rest = first_end == std::string::npos ? std::string() : all.substr(first_end + 1);
    std::string first = first_end == std::string::npos ? all : all.substr(0, first_end + 1);
    while (!first.empty() && (first.back() == '\r' || first.back() == '\n')) first.pop_back();
    CsvRecord r;
    r.number = ++records;
    r.line = record_start;
    r.malformed = std::move(why);
    r.malformed_column = fields.size();
    r.fields = std::move(fields);
    r.raw = std::move(first);
    fields.clear();
    ready.push_back(std::move(r));
    csv_free(&parser);
    reset_parser();
    record_open = false;
    line = record_start;
    record_start = line + 1;
    for (size_t at = 0; at < rest.size();) {
      size_t end = line_end(rest, at, true) + 1;
      feed_line(std::string_view(rest).substr(at, end - at));
      at = end;
    }
  }

  // The record being read has broken quoting: it becomes a record of its own that says so, and
  // reading starts afresh on the next line.
  void set_aside_malformed() {
    // A record that ran over several lines before breaking most likely began with a stray quote
    // that swallowed the lines after it: those are read again.
    if (line > record_start)
      return set_aside_first_line(fmt::format(
          "line {}: the quoting is broken: a quote on this line opens a field that runs on to line {} and breaks "
          "there; a quote inside a field must be doubled, and the field quoted",
          record_start, line));
    CsvRecord r;
    r.number = ++records;
    r.line = record_start;
    r.malformed = fmt::format("line {}: the quoting is broken: a quote inside a field must be doubled and the "
                              "field quoted, and nothing may follow a closing quote but the delimiter",
                              line);
    r.malformed_column = fields.size();
    r.fields = std::move(fields);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    r.raw = std::move(text);
    text.clear();
    fields.clear();
    ready.push_back(std::move(r));
    csv_free(&parser);
    reset_parser();
    record_open = false;
    record_start = line + 1;
  }

  bool reset_parser() {
    if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) return false;
    csv_set_delim(&parser, static_cast<unsigned char>(dialect.delimiter));
    return true;
  }
};

CsvSource::CsvSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CsvSource::~CsvSource() = default;
const Dialect& CsvSource::dialect() const { return impl_->dialect; }
int64_t CsvSource::size() const { return impl_->size; }
int64_t CsvSource::bytes_read() const {
  // Bytes of the file behind the records handed out so far: what was read, less what waits in the
  // buffers (converted text counted back at the conversion's average ratio).
  const Impl& m = *impl_;
  double ratio = m.converted_out > 0 ? static_cast<double>(m.converted_in) / static_cast<double>(m.converted_out) : 1.0;
  auto pending = static_cast<int64_t>(static_cast<double>(m.buffer.size() - m.pos) * ratio) + static_cast<int64_t>(m.raw.size());
  return std::max<int64_t>(0, m.bytes_read - pending);
}

namespace {

// Why a file whose first bytes are `sample` is no text to read as CSV (a workbook saved as is, a
// PDF, binary data), or nullopt.
std::optional<std::string> not_text(std::string_view sample, const Dialect& d) {
  constexpr std::string_view kSaveAsCsv =
      "imports read CSV text: save it as CSV (in Excel, \"CSV UTF-8\" or \"CSV (séparateur : point-virgule)\") and "
      "import that file";
  if (sample.starts_with(std::string_view("PK\x03\x04", 4)))
    return fmt::format("this file is a ZIP archive, such as an Excel workbook (.xlsx) or an OpenDocument sheet (.ods), "
                       "not CSV: {}", kSaveAsCsv);
  if (sample.starts_with("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"))
    return fmt::format("this file is an Excel 97-2003 workbook (.xls), not CSV: {}", kSaveAsCsv);
  if (sample.starts_with("%PDF-")) return fmt::format("this file is a PDF document, not CSV: {}", kSaveAsCsv);
  if (!d.encoding.starts_with("UTF-16") && !d.encoding.starts_with("UTF-32") &&
      sample.find('\0') != std::string_view::npos)
    return fmt::format("this file is not text (it holds NUL bytes): {}", kSaveAsCsv);
  return std::nullopt;
}

// A record whose every cell is empty or spaces (";;;;;;" that a spreadsheet leaves under a
// formatted range) is skipped like an empty line.
bool all_cells_empty(const CsvRecord& r) {
  return !r.malformed && std::all_of(r.fields.begin(), r.fields.end(), [](const std::string& f) { return text::trim(f).empty(); });
}

}  // namespace

Result<std::unique_ptr<CsvSource>> CsvSource::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->file = std::fopen(path.c_str(), "rb");
  if (impl->file == nullptr) return Error::not_found("file", "cannot open " + path);
  std::fseek(impl->file, 0, SEEK_END);
  impl->size = std::ftell(impl->file);
  std::fseek(impl->file, 0, SEEK_SET);
  std::string sample(kSample, '\0');
  sample.resize(std::fread(sample.data(), 1, sample.size(), impl->file));
  impl->dialect = detect_dialect(sample);
  if (std::optional<std::string> why = not_text(sample, impl->dialect)) return Error::invalid_argument("file", *why);
  impl->eol = line_break_of(sample);
  if (!impl->dialect.bom && impl->dialect.encoding == "UTF-8" && sample.size() == kSample &&
      std::all_of(sample.begin(), sample.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    std::string later = first_non_ascii_text(impl->file);
    if (!later.empty()) impl->dialect.encoding = detect_dialect(later).encoding;
  }
  std::fseek(impl->file, 0, SEEK_SET);
  if (impl->dialect.bom) {
    char skip[3];
    if (std::fread(skip, 1, 3, impl->file) != 3) return Error::invalid_argument("file", "cannot read the byte-order mark");
    impl->bytes_read = 3;
  }
  if (impl->dialect.encoding != "UTF-8") {
    impl->conv = iconv_open("UTF-8", impl->dialect.encoding.c_str());
    if (impl->conv == reinterpret_cast<iconv_t>(-1))
      return Error::invalid_argument("file", "unsupported encoding " + impl->dialect.encoding);
  }
  if (!impl->reset_parser()) return Error::internal("cannot initialise libcsv");
  return std::unique_ptr<CsvSource>(new CsvSource(std::move(impl)));
}

Result<std::optional<CsvRecord>> CsvSource::next() {
  for (;;) {
    FIDELIS_ASSIGN_OR_RETURN(std::optional<CsvRecord> r, next_record());
    if (!r || r->number == 1 || !all_cells_empty(*r)) return r;
  }
}

Result<std::optional<CsvRecord>> CsvSource::next_record() {
  Impl& m = *impl_;
  while (m.ready.empty()) {
    if (size_t end = m.line_end(m.buffer, m.pos, m.eof); end != std::string::npos) {
      m.feed_line(m.as_utf8(std::string_view(m.buffer).substr(m.pos, end + 1 - m.pos)));
      m.pos = end + 1;
      continue;
    }
    if (!m.eof) {
      FIDELIS_RETURN_IF_ERROR(m.fill());
      continue;
    }
    if (csv_fini(&m.parser, Impl::on_field, Impl::on_record, &m) != 0) {
      m.set_aside_unclosed("runs to the end of the file");
      continue;
    }
    if (m.ready.empty()) return std::optional<CsvRecord>();
  }
  CsvRecord r = std::move(m.ready.front());
  m.ready.pop_front();
  // Without its header row, no record of the file can be read.
  if (r.malformed && r.number == 1) {
    // A JSON Lines export (one object per line) is no CSV: say so rather than how its quotes break.
    if (std::string_view raw = text::trim(r.raw); raw.starts_with("{") || raw.starts_with("["))
      return Error::invalid_argument("file", "this file holds JSON, not CSV: imports read CSV files (export with "
                                             "--format csv or csv-excel-fr to import back)");
    return Error::invalid_argument("file", "the header row cannot be read: " + *r.malformed);
  }
  return std::optional<CsvRecord>(std::move(r));
}

}  // namespace fidelis::imports
