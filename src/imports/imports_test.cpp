// Imports: dialect detection, CSV edge cases, header mapping, row building, resumable runs and
// export, on both drivers.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <stdexcept>
#include <chrono>
#include <thread>
#include <random>
#include <fstream>
#include <tuple>
#include <sstream>

#include <fmt/format.h>

#include "core/text.h"
#include "imports/imports.h"
#include "storage/migrate.h"
#include "storage/test_db.h"

namespace fidelis::imports {
namespace {

std::string write_temp(const std::string& name, const std::string& content) {
  static const auto dir = std::filesystem::temp_directory_path() / ("fidelis_imports_" + std::to_string(::getpid()));
  static const storage::testing::OnExit remove = storage::testing::removing(dir);
  std::filesystem::create_directories(dir);
  auto path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<CsvRecord> read_all(const std::string& path) {
  auto src = CsvSource::open(path);
  EXPECT_TRUE(src);
  std::vector<CsvRecord> out;
  while (true) {
    auto r = (*src)->next();
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    if (!r || !*r) break;
    out.push_back(std::move(**r));
  }
  return out;
}

TEST(Dialect, RecognisesEncodingAndDelimiter) {
  auto excel = detect_dialect("Civilit\xE9;Pr\xE9nom;Nom;Code postal\r\nMme;H\xE9l\xE8ne;L\xE9vy;75011\r\n");
  EXPECT_EQ(excel.delimiter, ';');
  EXPECT_EQ(excel.encoding, "WINDOWS-1252");
  auto bom = detect_dialect("\xEF\xBB\xBFPrénom,Nom\nÉlodie,Durand\n");
  EXPECT_TRUE(bom.bom);
  EXPECT_EQ(bom.encoding, "UTF-8");
  EXPECT_EQ(bom.delimiter, ',');
  EXPECT_EQ(detect_dialect("a\tb\tc\n1\t2\t3\n").delimiter, '\t');
  // Commas inside quoted fields do not fool it.
  EXPECT_EQ(detect_dialect("nom;adresse\n\"Dupont\";\"3, rue des Lilas\"\n").delimiter, ';');
  // A stray quote on an early line of a short file, or rows ending in one more delimiter, do not
  // make it fall back to ','.
  EXPECT_EQ(detect_dialect("prenom;nom;email\nAnne;Petit;a@sfr.fr\n\"Jean Le Grand;Legrand;j@sfr.fr\nLuc;Roux;l@sfr.fr\n").delimiter,
            ';');
  std::string uneven = "prenom;nom;email\n";
  for (int i = 0; i < 50; ++i) uneven += fmt::format("P{0};N{0};p{0}@sfr.fr{1}\n", i, i % 4 == 0 ? ";" : "");
  EXPECT_EQ(detect_dialect(uneven).delimiter, ';');
  std::string trailing = "prenom;nom;email\n";
  for (int i = 0; i < 50; ++i) trailing += fmt::format("P{0};N{0};p{0}@sfr.fr;\n", i);
  EXPECT_EQ(detect_dialect(trailing).delimiter, ';');
}

TEST(CsvSource, MacRomanFilesOfExcelForMacAreRecognised) {
  // "Nom;Prénom;Ville\rGérard;Hélène;Saint-Étienne\r" as Excel for Mac saves a CSV (Macintosh).
  auto path = write_temp("mac.csv", "Nom;Pr\x8Enom;Ville\rG\x8Erard;H\x8El\x8Fne;Saint-\x83tienne\rLe\x8D;Fran\x8Doise;Orl\x8E" "ans\r");
  auto src = CsvSource::open(path);
  ASSERT_TRUE(src);
  EXPECT_EQ((*src)->dialect().encoding, "MACINTOSH");
  auto rows = read_all(path);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].fields[1], "Prénom");
  EXPECT_EQ(rows[1].fields[1], "Hélène");
  EXPECT_EQ(rows[1].fields[2], "Saint-Étienne");
  EXPECT_EQ(rows[2].fields[1], "Françoise");
  // Windows-1252 French text stays Windows-1252, curly quotes and all.
  EXPECT_EQ(detect_dialect("Nom;Pr\xE9nom\r\nO\x92" "Brien;H\xE9l\xE8ne\r\n").encoding, "WINDOWS-1252");
}

TEST(CsvSource, AByteTheEncodingLacksSetsItsLineAsideOnly) {
  std::string csv = "Nom;Pr\xE9nom;E-mail\r\nDupont;J\xE9r\xF4me;j@exemple.fr\r\nL\x81on;Paul;p@exemple.fr\r\n";
  for (int i = 0; i < 30; ++i) csv += "Petit;H\xE9l\xE8ne;h" + std::to_string(i) + "@exemple.fr\r\n";
  auto path = write_temp("undefined.csv", csv);
  auto rows = read_all(path);
  ASSERT_EQ(rows.size(), 33u);
  EXPECT_FALSE(rows[1].malformed);
  EXPECT_EQ(rows[1].fields[1], "Jérôme");
  ASSERT_TRUE(rows[2].malformed);
  EXPECT_EQ(rows[2].line, 3);
  EXPECT_EQ(rows[2].malformed_column, 0u);
  EXPECT_NE(rows[2].malformed->find("WINDOWS-1252"), std::string::npos) << *rows[2].malformed;
  EXPECT_FALSE(rows[3].malformed);
}

TEST(CsvSource, QuotingLinesAndConversion) {
  auto path = write_temp("quoting.csv",
                         "Nom;Adresse;Note\r\n"
                         "\"Dupont; fils\";\"12 rue \"\"Haute\"\"\";\"deux\r\nlignes\"\r\n"
                         "\r\n"
                         "L\xE9vy;3 all\xE9\x65;\x9C\x75vre\r\n");
  auto rows = read_all(path);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].fields[0], "Dupont; fils");
  EXPECT_EQ(rows[1].fields[1], "12 rue \"Haute\"");
  EXPECT_EQ(rows[1].fields[2], "deux\r\nlignes");
  EXPECT_EQ(rows[1].line, 2);
  EXPECT_EQ(rows[2].line, 5);  // after the two-line record and a blank line
  EXPECT_EQ(rows[2].fields[0], "Lévy");
  EXPECT_EQ(rows[2].fields[1], "3 allée");
  EXPECT_EQ(rows[2].fields[2], "œuvre");  // 0x9C is œ in Windows-1252, not in Latin-1
}

TEST(CsvSource, AnAsciiStartDoesNotHideTheEncodingOfWhatFollows) {
  std::string ascii = "nom;ville\n";
  while (ascii.size() < 70'000) ascii += "Martin;Lyon\n";
  for (auto [tail, encoding] : {std::pair<std::string, std::string>{"L\xE9vy;S\xE8te\n", "WINDOWS-1252"},
                                {"L\xC3\xA9vy;S\xC3\xA8te\n", "UTF-8"}}) {
    auto path = write_temp("late-accents.csv", ascii + tail);
    auto src = CsvSource::open(path);
    ASSERT_TRUE(src);
    EXPECT_EQ((*src)->dialect().encoding, encoding);
    auto rows = read_all(path);
    ASSERT_FALSE(rows.empty());
    EXPECT_EQ(rows.back().fields, (std::vector<std::string>{"Lévy", "Sète"})) << encoding;
  }
}

TEST(CsvSource, AStrayWindows1252LineInAUtf8FileIsReadAsSuch) {
  // Exports pasted together: 1 000 lines of UTF-8 and, in the middle, one line of Windows-1252.
  std::string csv = "nom;prenom\n";
  for (int i = 0; i < 1000; ++i)
    csv += i == 500 ? "Lef\xE8vre500;H\xE9l\xE8ne\n" : "Lef\xC3\xA8vre" + std::to_string(i) + ";H\xC3\xA9l\xC3\xA8ne\n";
  auto path = write_temp("mixed-encodings.csv", csv);
  auto src = CsvSource::open(path);
  ASSERT_TRUE(src);
  EXPECT_EQ((*src)->dialect().encoding, "UTF-8");
  auto rows = read_all(path);
  ASSERT_EQ(rows.size(), 1001u);
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"Lefèvre0", "Hélène"}));
  EXPECT_EQ(rows[501].fields, (std::vector<std::string>{"Lefèvre500", "Hélène"}));
  EXPECT_EQ(rows[501].line, 502);
  // A Windows-1252 file stays one.
  std::string latin = "nom;prenom\n";
  for (int i = 0; i < 50; ++i) latin += "Lef\xE8vre;H\xE9l\xE8ne\n";
  auto latin_src = CsvSource::open(write_temp("latin.csv", latin));
  ASSERT_TRUE(latin_src);
  EXPECT_EQ((*latin_src)->dialect().encoding, "WINDOWS-1252");
  // Two short rows say too little for a guess (MAC-CENTRALEUROPE): still Windows-1252.
  auto few = write_temp("few-accents.csv", "id,prenom,nom\nH1,Ga\xEBlle,M\xFCller\nH2,\xC8ve,No\xEBl\n");
  auto few_src = CsvSource::open(few);
  ASSERT_TRUE(few_src);
  EXPECT_EQ((*few_src)->dialect().encoding, "WINDOWS-1252");
  auto few_rows = read_all(few);
  ASSERT_EQ(few_rows.size(), 3u);
  EXPECT_EQ(few_rows[1].fields, (std::vector<std::string>{"H1", "Gaëlle", "Müller"}));
  EXPECT_EQ(few_rows[2].fields, (std::vector<std::string>{"H2", "Ève", "Noël"}));
}

// Every record of a file, or the error that stopped reading.
Result<std::vector<CsvRecord>> read_records(const std::string& path) {
  FIDELIS_ASSIGN_OR_RETURN(auto src, CsvSource::open(path));
  std::vector<CsvRecord> out;
  for (;;) {
    FIDELIS_ASSIGN_OR_RETURN(std::optional<CsvRecord> r, src->next());
    if (!r) return out;
    out.push_back(std::move(*r));
  }
}

TEST(CsvSource, LinesEndingInACarriageReturnAloneAreNumbered) {
  // Old Mac spreadsheets end lines with CR alone; after a quoted field across lines and a record
  // of empty cells (skipped), the lines keep their numbers.
  auto all = read_records(write_temp("mac.csv", "nom;prenom;email\rMacA;Anne;maca@exemple.fr\r\"Mac\rB\";Bea;macb@exemple.fr\r;;\rMacC;Cel;macc@exemple.fr\r"));
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].fields, (std::vector<std::string>{"nom", "prenom", "email"}));
  EXPECT_EQ((*all)[1].line, 2);
  EXPECT_EQ((*all)[2].fields[0], "Mac\rB");
  EXPECT_EQ((*all)[2].line, 3);
  EXPECT_EQ((*all)[3].line, 6);
  EXPECT_EQ((*all)[3].fields, (std::vector<std::string>{"MacC", "Cel", "macc@exemple.fr"}));
  // Mixed: LF and CRLF lines with CR-only ones among them.
  auto mixed = read_records(write_temp("mixed-ends.csv", "id,prenom,nom,email\r\nQ1,A,B,q1@mx.fr\rQ2,,,\rQ3,C,D,q3@mx.fr\nQ4,E,F,q4@mx.fr\r\n"));
  ASSERT_TRUE(mixed) << mixed.error().message;
  ASSERT_EQ(mixed->size(), 5u);
  for (size_t i = 1; i < 5; ++i) EXPECT_EQ((*mixed)[i].line, static_cast<int64_t>(i + 1)) << i;
  EXPECT_EQ((*mixed)[4].fields[0], "Q4");
  // A header ending in LF above rows ending in CR alone, the last one too; and after a quote that
  // never closes, the lines read again are numbered the same way.
  auto tail = read_records(write_temp("cr-tail.csv", "nom;prenom;email\nA;B;a@x.fr\rC;D;c@x.fr\r"));
  ASSERT_TRUE(tail) << tail.error().message;
  ASSERT_EQ(tail->size(), 3u);
  EXPECT_EQ((*tail)[1].line, 2);
  EXPECT_EQ((*tail)[2].line, 3);
  auto reread = read_records(write_temp("cr-reread.csv", "nom;prenom;email\n\"A;B;a@x.fr\rC;D;c@x.fr\rE;F;e@x.fr\n"));
  ASSERT_TRUE(reread) << reread.error().message;
  ASSERT_EQ(reread->size(), 4u);
  EXPECT_TRUE((*reread)[1].malformed);
  for (size_t i = 1; i < 4; ++i) EXPECT_EQ((*reread)[i].line, static_cast<int64_t>(i + 1)) << i;
  EXPECT_EQ((*reread)[3].fields[0], "E");
}

TEST(CsvSource, UnclosedQuoteSetsItsLineAsideAndTheNextLinesAreRead) {
  // The stray quote on line 2 opens a field that the quote on line 4 closes, wrongly: line 2 alone
  // is set aside, and the lines after it are read as the records they are.
  auto all = read_records(write_temp("broken.csv", "a,b\n1,\"never closed\n2,3\n\"multi\nline\",4\n"));
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 4u);
  const CsvRecord& bad = (*all)[1];
  ASSERT_TRUE(bad.malformed);
  EXPECT_EQ(bad.line, 2);
  EXPECT_EQ(bad.raw, "1,\"never closed");
  EXPECT_EQ(bad.malformed_column, 1u);
  EXPECT_NE(bad.malformed->find("line 2: the quoting is broken: a quote on this line opens a field that runs on to "
                                "line 4"),
            std::string::npos)
      << *bad.malformed;
  EXPECT_EQ((*all)[2].fields, (std::vector<std::string>{"2", "3"}));
  EXPECT_EQ((*all)[2].line, 3);
  EXPECT_EQ((*all)[3].fields, (std::vector<std::string>{"multi\nline", "4"}));
  EXPECT_EQ((*all)[3].line, 4);

  // Two in a row, the second one running to the end of the file; the record numbers follow one
  // another.
  all = read_records(write_temp("broken2.csv", "a,b\n\"x,1\n\"y,2\n3,4\n"));
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 4u);
  EXPECT_TRUE((*all)[1].malformed);
  ASSERT_TRUE((*all)[2].malformed);
  EXPECT_EQ((*all)[2].line, 3);
  EXPECT_NE((*all)[2].malformed->find("line 3: a quoted field opens and never closes (it runs to the end of the file)"),
            std::string::npos)
      << *(*all)[2].malformed;
  EXPECT_EQ((*all)[3].fields, (std::vector<std::string>{"3", "4"}));
  for (size_t i = 0; i < all->size(); ++i) EXPECT_EQ((*all)[i].number, static_cast<int64_t>(i + 1));

  // A quoted field may span lines, but not past 1 MiB: then its quote is taken for a stray one.
  std::string big = "a,b\n1,\"open\n";
  for (int i = 0; i < 60000; ++i) big += fmt::format("{},filler line of text\n", i);
  all = read_records(write_temp("broken3.csv", big));
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 60002u);
  EXPECT_TRUE((*all)[1].malformed);
  EXPECT_NE((*all)[1].malformed->find("past 1 MiB"), std::string::npos);
  EXPECT_EQ((*all)[60001].fields, (std::vector<std::string>{"59999", "filler line of text"}));
  EXPECT_EQ((*all)[60001].line, 60002);

  // The header row is the one record an import cannot do without.
  auto header = read_records(write_temp("broken4.csv", "\"a,b\n1,2\n"));
  ASSERT_FALSE(header);
  EXPECT_EQ(header.error().field, "file");
  EXPECT_FALSE(CsvSource::open("/nonexistent/x.csv"));
}

TEST(CsvSource, RecordsOfEmptyCellsAreSkippedLikeEmptyLines) {
  auto path = write_temp("separators.csv", "Nom;Pr\xC3\xA9nom;E-mail\r\nDupont;Jean;j@exemple.fr\r\n;;\r\n ; ;\r\n\r\n"
                                           "Petit;Anne;a@exemple.fr\r\n;;;;;;\r\n");
  auto rows = read_all(path);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2].fields[0], "Petit");
  EXPECT_EQ(rows[2].line, 6);
  EXPECT_EQ(rows[2].number, 5);  // the records of empty cells are still counted
}

TEST(CsvSource, AFileIsReadAsItWasWhenOpened) {
  const std::string path = write_temp("growing.csv", "Nom;E-mail\nDupont;j@exemple.fr\n");
  auto src = CsvSource::open(path);
  ASSERT_TRUE(src);
  {
    std::ofstream more(path, std::ios::app);
    more << "Petit;a@exemple.fr\n";
  }
  int records = 0;
  while (true) {
    auto r = (*src)->next();
    ASSERT_TRUE(r);
    if (!*r) break;
    ++records;
  }
  EXPECT_EQ(records, 2);  // the header and Dupont
}

TEST(CsvSource, AWorkbookOrBinaryFileIsRefusedSayingWhatItIs) {
  auto refused = [](const std::string& name, const std::string& content) {
    auto src = CsvSource::open(write_temp(name, content));
    EXPECT_FALSE(src) << name;
    if (src) return std::string();
    EXPECT_EQ(src.error().field, "file");
    return src.error().message;
  };
  EXPECT_NE(refused("book.xlsx", std::string("PK\x03\x04\x14\x00\x06\x00", 8) + "[Content_Types].xml").find("Excel workbook (.xlsx)"),
            std::string::npos);
  EXPECT_NE(refused("old.xls", "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 rest").find("Excel 97-2003"), std::string::npos);
  EXPECT_NE(refused("doc.pdf", "%PDF-1.7\n").find("PDF"), std::string::npos);
  EXPECT_NE(refused("random.bin", std::string("\x00\x01PK\x03\x04\xFF", 7)).find("not text"), std::string::npos);
  // UTF-16 text holds NUL bytes and is read, with or without its byte-order mark.
  auto utf16 = CsvSource::open(write_temp("utf16.csv", std::string("\xFF\xFEN\x00o\x00m\x00\n\x00", 10)));
  EXPECT_TRUE(utf16) << utf16.error().message;
  auto utf16_text = [](const std::string& ascii, bool big_endian) {
    std::string out;
    for (char c : ascii) out += big_endian ? std::string{'\0', c} : std::string{c, '\0'};
    return out;
  };
  for (bool be : {false, true}) {
    const std::string path = write_temp(be ? "utf16be.csv" : "utf16le.csv",
                                        utf16_text("Nom;Prenom;Email\nDupont;Jean;j@exemple.fr\nPetit;Anne;a@exemple.fr\n", be));
    auto src = CsvSource::open(path);
    ASSERT_TRUE(src) << src.error().message;
    EXPECT_EQ((*src)->dialect().encoding, be ? "UTF-16BE" : "UTF-16LE");
    auto rows = read_all(path);
    ASSERT_EQ(rows.size(), 3u) << be;
    EXPECT_EQ(rows[2].fields, (std::vector<std::string>{"Petit", "Anne", "a@exemple.fr"}));
    // With its mark (Excel's "Unicode text"), the mark is no part of the first header.
    const std::string marked = write_temp(be ? "utf16be-bom.csv" : "utf16le-bom.csv",
                                          (be ? std::string("\xFE\xFF") : std::string("\xFF\xFE")) +
                                              utf16_text("E-mail;Nom\nj@exemple.fr;Dupont\n", be));
    auto with_bom = read_all(marked);
    ASSERT_EQ(with_bom.size(), 2u) << be;
    EXPECT_EQ(with_bom[0].fields[0], "E-mail") << be;
  }
}

TEST(CsvSource, AnyBytesGiveRecordsOrReasonsNeverACrash) {
  // Files made of the pieces real files hold, shuffled: quotes, separators, line ends of every
  // kind, BOMs, Windows-1252 and broken UTF-8 bytes. Reading ends, each record numbered after the last.
  const std::vector<std::string> pieces = {"\"", "\"\"", ";", ",", "\t", "\n", "\r\n", "\r", "\xEF\xBB\xBF", "\xE9",
                                           "\x81", "\xC3", "\xC3\xA9", "\xFF\xFE", "a", "Jean", "12 rue", " ", "=1+1",
                                           "\x00", "\xE2\x80", "'", ":::"};
  std::mt19937 rng(7122026);
  for (int n = 0; n < 300; ++n) {
    std::string content = "Nom;Prénom;E-mail\n";
    for (int k = static_cast<int>(rng() % 200); k > 0; --k) content += pieces[rng() % pieces.size()];
    auto path = write_temp("fuzz_" + std::to_string(n) + ".csv", content);
    auto src = CsvSource::open(path);
    if (!src) continue;  // refused with a reason (an encoding nothing reads)
    int64_t last = 0;
    for (int guard = 0; guard < 100000; ++guard) {
      auto r = (*src)->next();
      if (!r) break;  // an error the import reports
      if (!*r) break;
      EXPECT_GT((**r).line, last) << n << " " << ::testing::PrintToString(content);
      last = (**r).line;
    }
  }
}

TEST(CsvSource, BrokenQuotingSetsTheRecordAsideAndReadingGoesOn) {
  auto path = write_temp("stray.csv",
                         "id;nom;ville\n"
                         "1;Dupont \"dit Jeannot\";Lyon\n"    // a quote inside an unquoted field
                         "2;\"Martin\"x;Paris\n"              // text after a closing quote
                         "3;\"Durand\nsur deux lignes\";Nice\n"
                         "4;Petit;Lille\n");
  auto rows = read_all(path);
  ASSERT_EQ(rows.size(), 5u);
  ASSERT_TRUE(rows[1].malformed);
  EXPECT_EQ(rows[1].fields, std::vector<std::string>{"1"});  // what was read before the break
  EXPECT_EQ(rows[1].line, 2);
  EXPECT_EQ(rows[1].malformed_column, 1u);  // "nom"
  EXPECT_EQ(rows[1].raw, "1;Dupont \"dit Jeannot\";Lyon");
  EXPECT_NE(rows[1].malformed->find("line 2"), std::string::npos) << *rows[1].malformed;
  ASSERT_TRUE(rows[2].malformed);
  EXPECT_EQ(rows[2].line, 3);
  EXPECT_EQ(rows[2].raw, "2;\"Martin\"x;Paris");
  // The records after are read as usual, a quoted line break included.
  EXPECT_FALSE(rows[3].malformed);
  EXPECT_EQ(rows[3].fields, (std::vector<std::string>{"3", "Durand\nsur deux lignes", "Nice"}));
  EXPECT_EQ(rows[3].line, 4);
  EXPECT_EQ(rows[4].fields, (std::vector<std::string>{"4", "Petit", "Lille"}));
  EXPECT_EQ(rows[4].line, 6);
  EXPECT_EQ(rows[4].number, 5);
  // Without its header, a file cannot be read at all.
  auto bad_header = CsvSource::open(write_temp("badheader.csv", "id;n\"om\n1;x\n"));
  ASSERT_TRUE(bad_header);
  auto header = (*bad_header)->next();
  ASSERT_FALSE(header);
  EXPECT_EQ(header.error().field, "file");
  EXPECT_NE(header.error().message.find("header"), std::string::npos);
}

TEST(Mapping, GuessesFrenchAndEnglishHeaders) {
  std::vector<std::string> header = {"Civilité", "Prénom", "NOM", "E-mail", "Tél. portable", "Date de naissance",
                                     "Adresse", "Code postal", "Ville", "Pays", "N° client", "Divers"};
  auto cols = map_columns(header, {}, {});
  ASSERT_TRUE(cols) << cols.error().message;
  std::vector<Target> want = {Target::kCivility, Target::kFirstName, Target::kLastName, Target::kEmail,
                              Target::kPhone, Target::kBirthDate, Target::kStreet, Target::kPostcode,
                              Target::kCity, Target::kCountry, Target::kExternalId, Target::kIgnore};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ((*cols)[i].target, want[i]) << header[i];
  auto english = map_columns(std::vector<std::string>{"First Name", "Last name", "Email address", "ZIP code", "Customer ID"}, {}, {});
  ASSERT_TRUE(english);
  EXPECT_EQ((*english)[0].target, Target::kFirstName);
  EXPECT_EQ((*english)[3].target, Target::kPostcode);
  EXPECT_EQ((*english)[4].target, Target::kExternalId);
  // A Swiss shop's file: "NPA" and "Lieu", and the mobile ("Natel") before the landline.
  auto swiss = map_columns(std::vector<std::string>{"Nom", "Prénom", "Téléphone", "Natel", "NPA", "Lieu"}, {}, {});
  ASSERT_TRUE(swiss) << swiss.error().message;
  EXPECT_EQ((*swiss)[3].target, Target::kPhone);
  EXPECT_LT((*swiss)[3].rank, (*swiss)[2].rank);
  EXPECT_EQ((*swiss)[4].target, Target::kPostcode);
  EXPECT_EQ((*swiss)[5].target, Target::kCity);
}

TEST(Mapping, OptOutsAndConsentsAsMarketingToolsAndShopsExportThem) {
  // Brevo: the mobile is "SMS", opt-outs are "EMAIL_BLACKLISTED" and "SMS_BLACKLISTED".
  std::vector<std::string> brevo = {"CONTACT ID", "EMAIL", "NOM", "PRENOM", "SMS", "EMAIL_BLACKLISTED", "SMS_BLACKLISTED", "OPT_IN"};
  auto b = map_columns(brevo, {}, {});
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ((*b)[4].target, Target::kIgnore);  // a phone once its values are seen to be numbers
  EXPECT_TRUE((*b)[4].phone_if_numbers);
  EXPECT_EQ(mapped_field((*b)[5]), "opt_out:email");
  EXPECT_EQ(mapped_field((*b)[6]), "opt_out:sms");
  EXPECT_EQ(mapped_field((*b)[7]), "consent:email:newsletter");
  // Mailchimp's export of unsubscribed members; French headers.
  std::vector<std::string> others = {"Email Address", "UNSUB_TIME", "Désinscrit", "Opt-out", "Unsubscribed from all email"};
  auto m = map_columns(others, {}, {});
  ASSERT_TRUE(m) << m.error().message;
  for (size_t i = 1; i < others.size(); ++i) EXPECT_EQ(mapped_field((*m)[i]), "opt_out:email") << others[i];
  // HubSpot: the record's id; the mobile before the plain phone, which often holds the landline.
  std::vector<std::string> hubspot = {"Record ID", "Email", "Phone Number", "Mobile Phone Number", "Téléphone", "Téléphone portable"};
  auto h = map_columns(hubspot, {}, {});
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ((*h)[0].target, Target::kExternalId);
  EXPECT_LT((*h)[3].rank, (*h)[2].rank);
  EXPECT_LT((*h)[5].rank, (*h)[4].rank);
  // PrestaShop: "Newsletter" and "Optin" (the partners' offers) are two consents, not one twice.
  std::vector<std::string> presta = {"ID", "Titre", "Prénom", "Nom", "E-mail", "Newsletter", "Optin"};
  auto p = map_columns(presta, {}, {});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(mapped_field((*p)[5]), "consent:email:newsletter");
  EXPECT_EQ(mapped_field((*p)[6]), "consent:email:offers");
  // Alone, "Optin" is the newsletter's.
  auto alone = map_columns(std::vector<std::string>{"E-mail", "Optin"}, {}, {});
  ASSERT_TRUE(alone);
  EXPECT_EQ(mapped_field((*alone)[1]), "consent:email:newsletter");
  // A mapping names them opt_out:CHANNEL or opt_out:CHANNEL:PURPOSE; a bad one names its entry.
  auto mapped = map_columns(others, {{"Email Address", "email"}, {"UNSUB_TIME", "opt_out:email:newsletter"}}, {});
  ASSERT_TRUE(mapped) << mapped.error().message;
  EXPECT_EQ(mapped_field((*mapped)[1]), "opt_out:email:newsletter");
  auto bad = map_columns(others, {{"Email Address", "email"}, {"UNSUB_TIME", "opt_out:fax"}}, {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "mapping.UNSUB_TIME");
}

TEST(Mapping, ExplicitMappingWinsAndBadOnesNameTheProblem) {
  std::vector<std::string> header = {"col1", "col2", "Nom"};
  auto cols = map_columns(header, {{"col1", "email"}, {"col2", "pointure"}, {"Nom", "ignore"}},
                          {{"pointure", "Pointure", customers::CustomFieldType::kInteger, {}}});
  ASSERT_TRUE(cols) << cols.error().message;
  EXPECT_EQ((*cols)[0].target, Target::kEmail);
  EXPECT_EQ((*cols)[1].target, Target::kCustom);
  EXPECT_EQ((*cols)[1].custom_key, "pointure");
  EXPECT_EQ((*cols)[2].target, Target::kIgnore);
  EXPECT_EQ(map_columns(header, {{"col1", "shoe"}}, {}).error().field, "mapping.col1");
  EXPECT_EQ(map_columns(header, {{"absent", "email"}}, {}).error().field, "mapping.absent");
  // "*": "guess": the columns the mapping does not name are guessed; beside them, what it names wins.
  auto back = map_columns(std::vector<std::string>{"id", "first_name", "last_name", "email"},
                          {{"id", "customer_id"}, {"*", "guess"}}, {});
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ((*back)[0].target, Target::kCustomerId);
  EXPECT_EQ((*back)[1].target, Target::kFirstName);
  EXPECT_EQ((*back)[3].target, Target::kEmail);
  auto wins = map_columns(std::vector<std::string>{"Nom client", "Nom", "E-mail"}, {{"Nom client", "last_name"}, {"*", "guess"}}, {});
  ASSERT_TRUE(wins) << wins.error().message;
  EXPECT_EQ((*wins)[0].target, Target::kLastName);
  EXPECT_EQ((*wins)[1].target, Target::kIgnore);
  EXPECT_EQ((*wins)[2].target, Target::kEmail);
  EXPECT_EQ(map_columns(header, {{"*", "all"}}, {}).error().field, "mapping.*");
  // label:HEADER naming no column: the entry that says so is at fault.
  auto label = map_columns(std::vector<std::string>{"Nom", "Mobile"}, {{"Nom", "last_name"}, {"Mobile", "label:Zut"}}, {});
  ASSERT_FALSE(label);
  EXPECT_EQ(label.error().field, "mapping.Mobile");
  EXPECT_EQ(label.error().message, "the file has no column \"Zut\"");
  EXPECT_EQ(map_columns(std::vector<std::string>{"Nom", "Nom de famille"}, {}, {}).error().field, "header");
  // With a mapping, the columns it does not name are ignored, not guessed: an export's row number
  // headed "ID" is not taken for an id, and a second name column is no conflict.
  auto only = map_columns(std::vector<std::string>{"ID", "Nom client", "Nom", "E-mail"}, {{"Nom client", "last_name"}}, {});
  ASSERT_TRUE(only) << only.error().message;
  EXPECT_EQ((*only)[0].target, Target::kIgnore);
  EXPECT_EQ((*only)[1].target, Target::kLastName);
  EXPECT_EQ((*only)[2].target, Target::kIgnore);
  EXPECT_EQ((*only)[3].target, Target::kIgnore);
  // Consents: an opt-in column by its usual names, or any channel and purpose by the mapping.
  auto consents = map_columns(std::vector<std::string>{"E-mail", "Opt-in", "SMS ok"}, {}, {});
  ASSERT_TRUE(consents) << consents.error().message;
  EXPECT_EQ((*consents)[1].target, Target::kConsent);
  EXPECT_EQ((*consents)[1].custom_key, "email:newsletter");
  auto sms = map_columns(std::vector<std::string>{"E-mail", "SMS ok"}, {{"E-mail", "email"}, {"SMS ok", "consent:sms:offers"}}, {});
  ASSERT_TRUE(sms) << sms.error().message;
  EXPECT_EQ((*sms)[1].custom_key, "sms:offers");
  EXPECT_EQ(map_columns(std::vector<std::string>{"SMS ok"}, {{"SMS ok", "consent:pigeon:offers"}}, {}).error().field,
            "mapping.SMS ok");
  EXPECT_EQ(map_columns(std::vector<std::string>{"SMS ok"}, {{"SMS ok", "consent:sms"}}, {}).error().field, "mapping.SMS ok");
  // Fidelis's own export, and abbreviations files use.
  auto own = map_columns(std::vector<std::string>{"other_emails", "other_phones", "Date naiss.", "Mail 2"}, {}, {});
  ASSERT_TRUE(own) << own.error().message;
  EXPECT_EQ((*own)[0].target, Target::kEmail);
  EXPECT_EQ((*own)[1].target, Target::kPhone);
  EXPECT_EQ((*own)[2].target, Target::kBirthDate);
  EXPECT_EQ((*own)[3].target, Target::kEmail);
  EXPECT_EQ((*map_columns(std::vector<std::string>{"E-mail", "Né(e) le"}, {}, {}))[1].target, Target::kBirthDate);
  // Two mapped columns for one field: the mapping is what is wrong.
  EXPECT_EQ(map_columns(std::vector<std::string>{"Nom", "Prénom"}, {{"Nom", "last_name"}, {"Prénom", "last_name"}}, {}).error().field,
            "mapping.Prénom");
  EXPECT_EQ(map_columns(std::vector<std::string>{"Nom", "NOM"}, {{"Nom", "last_name"}, {"NOM", "first_name"}, {"nom", "city"}}, {})
                .error()
                .field,
            "mapping.nom");
  // A mapping's header is found whatever its case and accents, composed or decomposed (macOS).
  auto loose = map_columns(std::vector<std::string>{"Prénom", "NOM CLIENT"}, {{"Pre\xCC\x81nom", "first_name"}, {"nom client", "last_name"}}, {});
  ASSERT_TRUE(loose) << loose.error().message;
  EXPECT_EQ((*loose)[0].target, Target::kFirstName);
  EXPECT_EQ((*loose)[1].target, Target::kLastName);
  // A mapping that names nothing a customer is made from.
  EXPECT_EQ(map_columns(std::vector<std::string>{"Ville", "Nom"}, {{"Ville", "city"}}, {}).error().field, "mapping");
}

TEST(Mapping, CommonExportsAndEnglishHeadersAreRecognised) {
  // Outlook / Google contacts: the main e-mail before "Email 2", phones of every kind, the address.
  auto outlook = map_columns(std::vector<std::string>{"Full Name", "E-mail Address", "Email 2", "Mobile Phone", "Home Phone",
                                                      "Street Address", "Address Line 2", "Postal Code", "Country Code",
                                                      "Date of Birth"},
                             {}, {});
  ASSERT_TRUE(outlook) << outlook.error().message;
  std::vector<Target> want = {Target::kFullName, Target::kEmail,    Target::kEmail,    Target::kPhone,   Target::kPhone,
                              Target::kStreet,   Target::kStreet2,  Target::kPostcode, Target::kCountry, Target::kBirthDate};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ((*outlook)[i].target, want[i]) << (*outlook)[i].header;
  EXPECT_LT((*outlook)[1].rank, (*outlook)[2].rank);  // the main e-mail first
  EXPECT_LT((*outlook)[3].rank, (*outlook)[4].rank);  // the mobile before the home phone
  // Shopify's customer export.
  auto shopify = map_columns(std::vector<std::string>{"Customer ID", "First Name", "Last Name", "Email", "Accepts Email Marketing",
                                                      "Default Address Company", "Default Address Address1",
                                                      "Default Address Address2", "Default Address City",
                                                      "Default Address Province Code", "Default Address Country Code",
                                                      "Default Address Zip", "Default Address Phone", "Phone",
                                                      "Accepts SMS Marketing", "Total Spent", "Tags"},
                             {}, {});
  ASSERT_TRUE(shopify) << shopify.error().message;
  EXPECT_EQ((*shopify)[0].target, Target::kExternalId);
  EXPECT_EQ((*shopify)[4].target, Target::kConsent);
  EXPECT_EQ((*shopify)[4].custom_key, "email:newsletter");
  EXPECT_EQ((*shopify)[5].target, Target::kIgnore);
  EXPECT_EQ((*shopify)[6].target, Target::kStreet);
  EXPECT_EQ((*shopify)[7].target, Target::kStreet2);
  EXPECT_EQ((*shopify)[8].target, Target::kCity);
  EXPECT_EQ((*shopify)[10].target, Target::kCountry);
  EXPECT_EQ((*shopify)[11].target, Target::kPostcode);
  EXPECT_EQ((*shopify)[12].target, Target::kPhone);
  EXPECT_GT((*shopify)[12].rank, (*shopify)[13].rank);  // the address's phone after the customer's own
  EXPECT_EQ((*shopify)[13].target, Target::kPhone);
  EXPECT_EQ((*shopify)[14].custom_key, "sms:offers");
  EXPECT_EQ((*shopify)[16].target, Target::kTags);
  // WooCommerce: the customer's own names win over the billing ones, billing over shipping.
  auto woo = map_columns(std::vector<std::string>{"customer_id", "first_name", "last_name", "email", "billing_first_name",
                                                  "billing_address_1", "billing_postcode", "billing_city", "billing_country",
                                                  "billing_email", "billing_phone", "shipping_address_1", "shipping_city"},
                         {}, {});
  ASSERT_TRUE(woo) << woo.error().message;
  EXPECT_EQ((*woo)[1].target, Target::kFirstName);
  EXPECT_EQ((*woo)[4].target, Target::kFirstName);  // used when first_name is empty (a guest order)
  EXPECT_LT((*woo)[1].rank, (*woo)[4].rank);
  EXPECT_EQ((*woo)[5].target, Target::kStreet);
  EXPECT_EQ((*woo)[6].target, Target::kPostcode);
  EXPECT_EQ((*woo)[9].target, Target::kEmail);
  EXPECT_EQ((*woo)[10].target, Target::kPhone);
  EXPECT_EQ((*woo)[11].target, Target::kStreet);  // the shipping address, when there is no billing one
  EXPECT_LT((*woo)[5].rank, (*woo)[11].rank);
  EXPECT_EQ((*woo)[12].target, Target::kCity);
  // Fidelis's own export: deleted customers are recognised.
  auto own = map_columns(std::vector<std::string>{"id", "first_name", "last_name", "email", "deleted_at"}, {}, {});
  ASSERT_TRUE(own);
  EXPECT_EQ((*own)[4].target, Target::kDeletedAt);
}

TEST(Mapping, ContactsExportsAsOutlookAndGoogleWriteThem) {
  auto targets = [](const std::vector<std::string>& header) {
    auto cols = map_columns(header, {}, {});
    EXPECT_TRUE(cols) << cols.error().message;
    std::map<std::string, std::pair<Target, int>> out;
    if (cols)
      for (const Column& c : *cols) out[c.header] = {c.target, c.rank};
    return out;
  };
  // Outlook (English), its 88 columns cut to those that matter and those that clashed.
  auto outlook = targets({"Title", "First Name", "Middle Name", "Last Name", "Suffix", "Company", "Job Title",
                          "Business Street", "Business Street 2", "Business City", "Business Postal Code",
                          "Business Country/Region", "Home Street", "Home Street 2", "Home City", "Home Postal Code",
                          "Home Country/Region", "Home Address", "Business Address", "Business Phone", "Home Phone",
                          "Mobile Phone", "Business Fax", "Birthday", "Gender", "E-mail Address", "E-mail Type",
                          "E-mail Display Name", "E-mail 2 Address"});
  EXPECT_EQ(outlook["Title"].first, Target::kCivility);
  EXPECT_EQ(outlook["Gender"].first, Target::kIgnore);
  EXPECT_EQ(outlook["Job Title"].first, Target::kIgnore);
  EXPECT_EQ(outlook["Middle Name"].first, Target::kIgnore);
  EXPECT_EQ(outlook["E-mail Display Name"].first, Target::kIgnore);
  EXPECT_EQ(outlook["Home Street"].first, Target::kStreet);
  EXPECT_LT(outlook["Home Street"].second, outlook["Home Address"].second);  // the street before the formatted block
  EXPECT_LT(outlook["Home Street"].second, outlook["Business Street"].second);
  EXPECT_LT(outlook["Home City"].second, outlook["Business City"].second);
  EXPECT_LT(outlook["Mobile Phone"].second, outlook["Home Phone"].second);
  EXPECT_LT(outlook["Home Phone"].second, outlook["Business Phone"].second);
  EXPECT_EQ(outlook["Business Fax"].first, Target::kIgnore);
  EXPECT_LT(outlook["E-mail Address"].second, outlook["E-mail 2 Address"].second);
  // Outlook (French).
  auto outlook_fr = targets({"Prénom", "Nom", "Adresse de messagerie", "Adresse de messagerie 2", "Téléphone principal",
                             "Téléphone mobile", "Rue (domicile)", "Ville (domicile)", "Code postal (domicile)",
                             "Pays/Région (domicile)", "Rue (bureau)"});
  EXPECT_EQ(outlook_fr["Adresse de messagerie"].first, Target::kEmail);
  EXPECT_EQ(outlook_fr["Adresse de messagerie 2"].first, Target::kEmail);
  EXPECT_EQ(outlook_fr["Téléphone principal"].first, Target::kPhone);
  EXPECT_EQ(outlook_fr["Rue (domicile)"].first, Target::kStreet);
  EXPECT_EQ(outlook_fr["Ville (domicile)"].first, Target::kCity);
  EXPECT_EQ(outlook_fr["Code postal (domicile)"].first, Target::kPostcode);
  EXPECT_EQ(outlook_fr["Pays/Région (domicile)"].first, Target::kCountry);
  EXPECT_LT(outlook_fr["Rue (domicile)"].second, outlook_fr["Rue (bureau)"].second);
  // Google Contacts, old and new.
  auto google = targets({"Name", "Given Name", "Additional Name", "Family Name", "Birthday", "Gender", "E-mail 1 - Type",
                         "E-mail 1 - Value", "E-mail 2 - Value", "Phone 1 - Type", "Phone 1 - Value", "Address 1 - Formatted",
                         "Address 1 - Street", "Address 1 - City", "Address 1 - Postal Code", "Address 1 - Country",
                         "Address 1 - Extended Address", "Address 2 - Street", "Organization 1 - Name"});
  EXPECT_EQ(google["Name"].first, Target::kFullName);
  EXPECT_EQ(google["Given Name"].first, Target::kFirstName);
  EXPECT_EQ(google["Family Name"].first, Target::kLastName);
  EXPECT_EQ(google["Additional Name"].first, Target::kIgnore);
  EXPECT_EQ(google["E-mail 1 - Type"].first, Target::kLabel);
  EXPECT_EQ(google["E-mail 1 - Value"].first, Target::kEmail);
  EXPECT_LT(google["E-mail 1 - Value"].second, google["E-mail 2 - Value"].second);
  EXPECT_EQ(google["Phone 1 - Value"].first, Target::kPhone);
  EXPECT_EQ(google["Address 1 - Formatted"].first, Target::kIgnore);
  EXPECT_EQ(google["Address 1 - Street"].first, Target::kStreet);
  EXPECT_EQ(google["Address 1 - City"].first, Target::kCity);
  EXPECT_EQ(google["Address 1 - Postal Code"].first, Target::kPostcode);
  EXPECT_EQ(google["Address 1 - Country"].first, Target::kCountry);
  EXPECT_EQ(google["Address 1 - Extended Address"].first, Target::kStreet2);
  EXPECT_LT(google["Address 1 - Street"].second, google["Address 2 - Street"].second);
  EXPECT_EQ(google["Organization 1 - Name"].first, Target::kIgnore);
  // A label with no value column of its number is not read; "- Type" and "- Label" may both be.
  EXPECT_EQ(targets({"Name", "Phone 1 - Value", "Phone 2 - Label"})["Phone 2 - Label"].first, Target::kIgnore);
  EXPECT_EQ(targets({"Name", "Phone 1 - Type", "Phone 1 - Label", "Phone 1 - Value"})["Phone 1 - Label"].first, Target::kLabel);
  // A mapping names a label column "label:HEADER", HEADER being a column it maps to e-mails or phones.
  const std::vector<std::string> gh = {"Name", "Phone 1 - Label", "Phone 1 - Value"};
  auto mapped = map_columns(gh, {{"Name", "full_name"}, {"Phone 1 - Value", "phone"}, {"Phone 1 - Label", "label:phone 1 - value"}}, {});
  ASSERT_TRUE(mapped) << mapped.error().message;
  EXPECT_EQ((*mapped)[1].target, Target::kLabel);
  EXPECT_EQ((*mapped)[1].custom_key, "Phone 1 - Value");
  auto twice = map_columns(std::vector<std::string>{"Name", "Phone 1 - Type", "Phone 1 - Label", "Phone 1 - Value"},
                           {{"Name", "full_name"}, {"Phone 1 - Value", "phone"}, {"Phone 1 - Type", "label:Phone 1 - Value"},
                            {"Phone 1 - Label", "label:Phone 1 - Value"}},
                           {});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().field, "mapping.Phone 1 - Label");
  auto unlabelled = map_columns(gh, {{"Name", "full_name"}, {"Phone 1 - Label", "label:Name"}}, {});
  ASSERT_FALSE(unlabelled);
  EXPECT_EQ(unlabelled.error().field, "mapping.Phone 1 - Label");
  // Shopify's older header: the code and the name of the country.
  auto shopify = targets({"First Name", "Last Name", "Email", "Company", "Address1", "Address2", "City", "Province",
                          "Province Code", "Country", "Country Code", "Zip", "Phone", "Accepts Marketing"});
  EXPECT_EQ(shopify["Country"].first, Target::kCountry);
  EXPECT_LT(shopify["Country Code"].second, shopify["Country"].second);
  // French spreadsheets.
  auto french = targets({"Nom", "Prénom(s)", "Adresse électronique", "N° de téléphone", "Date de naissance (JJ/MM/AAAA)",
                         "Newsletter (oui/non)", "Pays de résidence", "C.P.", "Nom d'usage"});
  EXPECT_EQ(french["Prénom(s)"].first, Target::kFirstName);
  EXPECT_EQ(french["Adresse électronique"].first, Target::kEmail);
  EXPECT_EQ(french["N° de téléphone"].first, Target::kPhone);
  EXPECT_EQ(french["Date de naissance (JJ/MM/AAAA)"].first, Target::kBirthDate);
  EXPECT_EQ(french["Newsletter (oui/non)"].first, Target::kConsent);
  EXPECT_EQ(targets({"E-mail", "Opt-in e-mail"})["Opt-in e-mail"].first, Target::kConsent);
  EXPECT_EQ(french["Pays de résidence"].first, Target::kCountry);
  EXPECT_EQ(french["C.P."].first, Target::kPostcode);
}

TEST(RowBuilder, LowerRankColumnsFillWhatThePlainerOnesLeaveEmpty) {
  RowOptions o{"woo", "FR", 1'767'225'600'000};
  std::vector<std::string> header = {"first_name", "last_name", "email", "billing_first_name", "billing_last_name",
                                     "billing_address_1", "billing_postcode", "billing_city", "shipping_address_1",
                                     "shipping_postcode", "shipping_city", "billing_phone"};
  auto cols = map_columns(header, {}, {});
  ASSERT_TRUE(cols) << cols.error().message;
  // A guest order: only the billing names.
  auto guest = build_row(CsvRecord{2, 2, {"", "", "guest@exemple.fr", "Paul", "Martin", "", "", "", "3 rue Sainte",
                                           "33000", "Bordeaux", "'0622334455"}},
                         *cols, o, {});
  ASSERT_TRUE(guest) << guest.error().message;
  EXPECT_EQ(guest->input.first_name, "Paul");
  EXPECT_EQ(guest->input.last_name, "Martin");
  // No billing address: the shipping one, whole.
  EXPECT_EQ(guest->input.address->street, "3 rue Sainte");
  EXPECT_EQ(guest->input.address->postcode, "33000");
  EXPECT_EQ((*guest->input.phones)[0].e164, "+33622334455");  // the spreadsheet's apostrophe taken off
  // An account: its own names, its billing address whole, never mixed with the shipping one.
  auto account = build_row(CsvRecord{3, 3, {"Anne", "Petit", "anne@exemple.fr", "Société", "Petit", "", "'07100", "Annonay",
                                             "5 quai Est", "69002", "Lyon", ""}},
                           *cols, o, {});
  ASSERT_TRUE(account) << account.error().message;
  EXPECT_EQ(account->input.first_name, "Anne");
  EXPECT_EQ(account->input.address->postcode, "07100");
  EXPECT_EQ(account->input.address->city, "Annonay");
  EXPECT_FALSE(account->input.address->street);
  // A full name beside a first name gives the last name.
  auto both = map_columns(std::vector<std::string>{"Nom complet", "Prénom", "E-mail"}, {}, {});
  ASSERT_TRUE(both);
  auto row = build_row(CsvRecord{2, 2, {"DUPONT Jean", "Jean", "j@exemple.fr"}}, *both, o, {});
  ASSERT_TRUE(row);
  EXPECT_EQ(row->input.first_name, "Jean");
  EXPECT_EQ(row->input.last_name, "Dupont");
}

// A phone column mapped to e-mails: each cell is one value, flagged once as a phone number.
TEST(RowBuilder, APhoneNumberInAnEmailColumnIsFlaggedOnce) {
  RowOptions o{"x", "FR", 1'767'225'600'000};
  auto cols = map_columns(std::vector<std::string>{"Nom", "Mobile"}, {{"Nom", "last_name"}, {"Mobile", "email"}}, {});
  ASSERT_TRUE(cols) << cols.error().message;
  auto row = build_row(CsvRecord{2, 2, {"Dupont", "06 11 22 33 44"}}, *cols, o, {});
  ASSERT_TRUE(row) << row.error().message;
  ASSERT_EQ(row->flags.size(), 1u);
  EXPECT_EQ(row->flags[0].field, "email");
  EXPECT_EQ(row->flags[0].value, "06 11 22 33 44");
  EXPECT_NE(row->flags[0].reason.find("is a phone number"), std::string::npos) << row->flags[0].reason;
  // A phone number beside an address, or two numbers: one flag for the numbers.
  auto mixed = build_row(CsvRecord{4, 4, {"Dupont", "06 47 21 93 58, x@exemple.fr"}}, *cols, o, {});
  ASSERT_TRUE(mixed);
  ASSERT_EQ(mixed->flags.size(), 1u);
  EXPECT_EQ(mixed->flags[0].value, "06 47 21 93 58");
  ASSERT_TRUE(mixed->input.emails);
  EXPECT_EQ(mixed->input.emails->size(), 1u);
  auto numbers = build_row(CsvRecord{5, 5, {"Dupont", "06 47 21 93 58 / 06 12 34 56 78"}}, *cols, o, {});
  ASSERT_TRUE(numbers);
  ASSERT_EQ(numbers->flags.size(), 1u);
  EXPECT_NE(numbers->flags[0].reason.find("is a phone number"), std::string::npos) << numbers->flags[0].reason;
  // Several addresses in a cell are still told apart by spaces.
  auto two = build_row(CsvRecord{3, 3, {"Dupont", "a@exemple.fr b@exemple.fr"}}, *cols, o, {});
  ASSERT_TRUE(two);
  ASSERT_TRUE(two->input.emails);
  EXPECT_EQ(two->input.emails->size(), 2u);
}

TEST(RowBuilder, NamesAddressesAndCellsAsContactFilesWriteThem) {
  RowOptions o{"x", "FR", 1'767'225'600'000};
  auto build = [&](std::vector<std::string> header, std::vector<std::string> fields,
                   const std::vector<customers::CustomFieldDef>& defs = {}) {
    auto cols = map_columns(header, {}, defs);
    EXPECT_TRUE(cols) << cols.error().message;
    return build_row(CsvRecord{2, 2, std::move(fields)}, *cols, o, defs);
  };
  // A full name beside a first name: the rest, cleaned of civility, "épouse" and commas.
  std::vector<std::string> fn = {"Nom complet", "Prénom", "E-mail"};
  EXPECT_EQ(build(fn, {"M. Jean Dupont", "Jean", "a@exemple.fr"})->input.last_name, "Dupont");
  EXPECT_EQ(build(fn, {"Marie Dupont épouse Martin", "Marie", "a@exemple.fr"})->input.last_name, "Martin");
  EXPECT_EQ(build(fn, {"Mme Marie MARTIN née DUPONT", "Marie", "a@exemple.fr"})->input.last_name, "Martin");
  EXPECT_EQ(build(fn, {"Dupont, Jean", "Jean", "a@exemple.fr"})->input.last_name, "Dupont");
  EXPECT_EQ(build(fn, {"Jean Pierre Dupont", "Jean", "a@exemple.fr"})->input.last_name, "Pierre Dupont");
  // Couples, and "épouse" or "née" around a first name.
  std::vector<std::string> only = {"Nom complet", "E-mail"};
  auto couple = build(only, {"M. et Mme Dupont", "a@exemple.fr"});
  EXPECT_EQ(couple->input.civility, "M.");
  EXPECT_FALSE(couple->input.first_name);
  EXPECT_EQ(couple->input.last_name, "Dupont");
  // A household known by its family name.
  for (const char* family : {"Famille Leroy", "FAMILLE LEROY", "Fam. Leroy"}) {
    auto f = build(only, {family, "a@exemple.fr"});
    ASSERT_TRUE(f) << family;
    EXPECT_FALSE(f->input.first_name) << family;
    EXPECT_EQ(f->input.last_name, "Leroy") << family;
  }
  EXPECT_EQ(build(only, {"Famille de Lattre", "a@exemple.fr"})->input.last_name, "de Lattre");
  auto wife = build(only, {"Marie épouse Martin", "a@exemple.fr"});
  EXPECT_EQ(wife->input.first_name, "Marie");
  EXPECT_EQ(wife->input.last_name, "Martin");
  auto comma = build(only, {"Marie Martin, épouse Dupont", "a@exemple.fr"});
  EXPECT_EQ(comma->input.first_name, "Marie");
  EXPECT_EQ(comma->input.last_name, "Dupont");
  // Google Contacts' labels: the primary ("* ") first, then mobiles; each value keeps its label,
  // one per value in a " ::: " cell.
  std::vector<std::string> g = {"Name", "E-mail 1 - Label", "E-mail 1 - Value", "Phone 1 - Label", "Phone 1 - Value",
                                "Phone 2 - Label", "Phone 2 - Value"};
  auto contact = build(g, {"Anne Durand", "Home ::: * Work", "anne@x.fr ::: anne.durand@y.fr", "Work",
                           "01 45 45 45 45", "Mobile", "06 11 22 33 44"});
  ASSERT_TRUE(contact) << contact.error().message;
  ASSERT_EQ(contact->input.emails->size(), 2u);
  EXPECT_EQ((*contact->input.emails)[0].email, "anne.durand@y.fr");
  EXPECT_EQ((*contact->input.emails)[0].label, "Work");
  EXPECT_EQ((*contact->input.emails)[1].label, "Home");
  ASSERT_EQ(contact->input.phones->size(), 2u);
  EXPECT_EQ((*contact->input.phones)[0].e164, "+33611223344");
  EXPECT_EQ((*contact->input.phones)[0].label, "Mobile");
  EXPECT_EQ((*contact->input.phones)[1].label, "Work");
  EXPECT_TRUE(contact->flags.empty());
  // Several addresses in one cell: the first; a fax is no phone.
  auto two = build({"Name", "Address 1 - Street", "Address 1 - Postal Code", "Address 1 - City", "Phone 1 - Label",
                    "Phone 1 - Value", "Phone 2 - Label", "Phone 2 - Value"},
                   {"Anne Durand", "12 rue A ::: 5 rue B", "75011 ::: 69003", "Paris ::: Lyon", "Work Fax", "01 45 45 45 46",
                    "Home", "01 45 45 45 45"});
  ASSERT_TRUE(two) << two.error().message;
  EXPECT_EQ(two->input.address->street, "12 rue A");
  EXPECT_EQ(two->input.address->postcode, "75011");
  EXPECT_EQ(two->input.address->city, "Paris");
  ASSERT_EQ(two->input.phones->size(), 1u);
  EXPECT_EQ((*two->input.phones)[0].e164, "+33145454545");
  // A label the profile cannot hold costs the label alone, flagged; a label for a group of two
  // numbers is neither's; "*" alone says primary.
  auto odd = build(g, {"Anne Durand", "*", "anne@x.fr", std::string(60, 'x'), "01 45 45 45 45",
                       "Mobile", "06 11 22 33 44 / 06 22 33 44 55"});
  ASSERT_TRUE(odd) << odd.error().message;
  EXPECT_EQ((*odd->input.emails)[0].label, "");
  ASSERT_EQ(odd->input.phones->size(), 3u);
  EXPECT_EQ((*odd->input.phones)[0].e164, "+33145454545");
  EXPECT_EQ((*odd->input.phones)[0].label, "");
  EXPECT_EQ((*odd->input.phones)[1].label, "");
  ASSERT_EQ(odd->flags.size(), 1u);
  EXPECT_EQ(odd->flags[0].field, "phone.label");
  EXPECT_EQ(odd->flags[0].value, std::string(60, 'x'));
  auto born = build(only, {"MARTIN née DUPONT Marie", "a@exemple.fr"});
  EXPECT_EQ(born->input.first_name, "Marie");
  EXPECT_EQ(born->input.last_name, "Martin");
  // A generation stays with the surname; Arabic and Berber particles begin it.
  for (auto [cell, first, last] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"Jean Dupont Jr.", "Jean", "Dupont Jr."},
           {"PAUL MARTIN III", "Paul", "Martin III"},
           {"John Smith, Jr.", "John", "Smith Jr."},
           {"DUPONT III", "", "Dupont III"},
           {"Marie Claire FILS", "Marie Claire", "Fils"},
           {"Jan Ben de Vries", "Jan Ben", "de Vries"},
           {"Ahmed ben ALI", "Ahmed", "Ben Ali"},
           {"Jean de LA FONTAINE", "Jean", "de la Fontaine"},
           {"Ahmed Ben Ali", "Ahmed", "Ben Ali"},
           {"Karim El Amrani", "Karim", "El Amrani"},
           {"Fatima Aït Ahmed", "Fatima", "Aït Ahmed"},
           {"Ben Stiller", "Ben", "Stiller"},
           {"Jean Dupont junior", "Jean", "Dupont Junior"},
           {"M. & Mme Dupont", "", "Dupont"},
           {"Jean et Marie Dupont", "Jean", "Dupont"},
           {"Marie Dupont, née Martin", "Marie", "Dupont"},
           {"Melle Sophie Durand", "Sophie", "Durand"},
           {"Jean Dupont (Johnny)", "Jean", "Dupont"},
           {"Guillaume de Saint Jacques", "Guillaume", "de Saint Jacques"},
           {"João da Silva Santos", "João", "da Silva Santos"},
           {"Yasmina Aït Ben Salah", "Yasmina", "Aït Ben Salah"}}) {
    auto named = build(only, {cell, "a@exemple.fr"});
    ASSERT_TRUE(named) << cell;
    EXPECT_EQ(named->input.first_name.value_or(""), first) << cell;
    EXPECT_EQ(named->input.last_name, last) << cell;
  }
  // Street lines numbered 2 and 3 are the street's next lines.
  auto lines = build({"Nom", "Adresse 1", "Adresse 2", "Adresse 3", "Code postal", "Ville"},
                     {"Dupont", "12 rue de la Paix", "Apt 3", "Lieu-dit Les Prés", "75002", "Paris"});
  ASSERT_TRUE(lines) << lines.error().message;
  EXPECT_EQ(lines->input.address->street, "12 rue de la Paix");
  EXPECT_EQ(lines->input.address->street2, "Apt 3, Lieu-dit Les Prés");
  auto outlook = build({"Nom", "Rue (domicile)", "Rue (domicile) 2", "Rue (domicile) 3", "Rue (bureau)", "Rue (bureau) 2"},
                       {"Dupont", "12 rue de la Paix", "Apt 3", "", "1 quai Ouest", "Bât. B"});
  ASSERT_TRUE(outlook) << outlook.error().message;
  EXPECT_EQ(outlook->input.address->street, "12 rue de la Paix");
  EXPECT_EQ(outlook->input.address->street2, "Apt 3");
  // A billing address that is only a pre-filled country gives way to a whole shipping address;
  // names come whole from one kind of column.
  std::vector<std::string> woo = {"first_name", "last_name", "email", "billing_first_name", "billing_last_name",
                                  "billing_country", "shipping_address_1", "shipping_postcode", "shipping_city"};
  auto order = build(woo, {"Anne", "", "anne@exemple.fr", "", "", "FR", "9 rue Z", "06000", "Nice"});
  ASSERT_TRUE(order) << order.error().message;
  EXPECT_EQ(order->input.address->city, "Nice");
  auto mixed = build(woo, {"Jean", "", "j@exemple.fr", "Marie", "Durand", "", "", "", ""});
  EXPECT_EQ(mixed->input.first_name, "Jean");
  EXPECT_FALSE(mixed->input.last_name);  // not Durand: the billing name is another person's
  // Google's " ::: " between values of one cell; "00/00/00", Outlook's no-date.
  auto google = build({"Given Name", "E-mail 1 - Value", "Phone 1 - Value", "Birthday"},
                      {"Anne", "anne@x.fr ::: anne.durand@y.fr", "06 11 22 33 44 ::: 01 45 45 45 45", "00/00/00"});
  ASSERT_TRUE(google) << google.error().message;
  EXPECT_EQ(google->input.emails->size(), 2u);
  EXPECT_EQ(google->input.phones->size(), 2u);
  EXPECT_FALSE(google->input.birth_date);
  EXPECT_TRUE(google->flags.empty());
  // A column headed by a custom field's key is that field, not a guess.
  std::vector<customers::CustomFieldDef> defs = {{"email_pro", "E-mail pro", customers::CustomFieldType::kText, {}}};
  auto pro = build({"email", "email_pro"}, {"a@exemple.fr", "jj@acme.fr"}, defs);
  ASSERT_TRUE(pro) << pro.error().message;
  EXPECT_EQ(pro->input.emails->size(), 1u);
  EXPECT_EQ(std::get<std::string>(*pro->input.custom_fields->at("email_pro")), "jj@acme.fr");
}

TEST(Mapping, AFileWithoutAHeaderRowIsRefused) {
  auto data = map_columns(std::vector<std::string>{"Dupont", "Jean", "j@exemple.fr"}, {}, {});
  ASSERT_FALSE(data);
  EXPECT_EQ(data.error().field, "header");
  EXPECT_NE(data.error().message.find("no header row"), std::string::npos) << data.error().message;
  auto unknown = map_columns(std::vector<std::string>{"Dupont", "Jean", "0612345687"}, {}, {});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().field, "header");
  EXPECT_NE(unknown.error().message.find("\"Dupont\""), std::string::npos) << unknown.error().message;
}

// A "Nom Prénom" column gives the surname first: a cell with no other cue is read in that order;
// capitals and commas still say which part is which; "Prénom Nom" and "Nom complet" read as before.
TEST(RowBuilder, AHeaderThatPutsTheSurnameFirstIsBelieved) {
  RowOptions o{"boutique", "FR", 1'767'225'600'000};
  auto split = [&](const std::string& header, const std::string& cell) {
    auto cols = map_columns(std::vector<std::string>{header, "E-mail"}, {}, {});
    EXPECT_TRUE(cols) << header;
    auto r = build_row(CsvRecord{2, 2, {cell, "a@exemple.fr"}}, *cols, o, {});
    EXPECT_TRUE(r) << r.error().message;
    return std::pair{r->input.last_name.value_or("-"), r->input.first_name.value_or("-")};
  };
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(split("Nom Prénom", "Dupont Jean"), (P{"Dupont", "Jean"}));
  EXPECT_EQ(split("NOM PRENOM", "dupont jean-pierre"), (P{"Dupont", "Jean-Pierre"}));
  EXPECT_EQ(split("Nom et prénom", "Le Goff Marie Anne"), (P{"Le Goff", "Marie Anne"}));
  EXPECT_EQ(split("Nom / Prénom", "de la Fontaine Jean"), (P{"de la Fontaine", "Jean"}));
  EXPECT_EQ(split("Nom Prénom", "Ben Ali Ahmed"), (P{"Ben Ali", "Ahmed"}));
  EXPECT_EQ(split("Nom Prénom", "M. Durand Paul"), (P{"Durand", "Paul"}));
  EXPECT_EQ(split("Nom Prénom", "Jean DUPONT"), (P{"Dupont", "Jean"}));       // capitals say otherwise
  EXPECT_EQ(split("Nom Prénom", "Martin, Anne"), (P{"Martin", "Anne"}));      // so does a comma
  EXPECT_EQ(split("Nom Prénom", "Dupont"), (P{"Dupont", "-"}));
  EXPECT_EQ(split("Prénom Nom", "Jean Dupont"), (P{"Dupont", "Jean"}));
  EXPECT_EQ(split("Nom complet", "Jean Dupont"), (P{"Dupont", "Jean"}));
  // A mapping to full_name keeps what the header says.
  auto cols = map_columns(std::vector<std::string>{"NOM PRENOM", "mail"}, {{"NOM PRENOM", "full_name"}, {"mail", "email"}}, {});
  ASSERT_TRUE(cols) << cols.error().message;
  EXPECT_TRUE((*cols)[0].surname_first);
  auto r = build_row(CsvRecord{2, 2, {"petit lucie", "l@exemple.fr"}}, *cols, o, {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->input.last_name, "Petit");
  EXPECT_EQ(r->input.first_name, "Lucie");
}

// Household members and affinities, as the export writes them or as other files list them.
TEST(RowBuilder, HouseholdAndAffinityCells) {
  auto cols = map_columns(std::vector<std::string>{"Nom", "E-mail", "household", "Appétences"}, {}, {});
  ASSERT_TRUE(cols) << cols.error().message;
  EXPECT_EQ((*cols)[2].target, Target::kHousehold);
  EXPECT_EQ((*cols)[3].target, Target::kAffinities);
  RowOptions o{"boutique", "FR", 1'767'225'600'000};
  auto row = [&](const std::string& household, const std::string& affinities) {
    return build_row(CsvRecord{2, 2, {"Roux", "roux@exemple.fr", household, affinities}}, *cols, o, {});
  };
  auto r = row("enfant:léa:02/04/2015|conjoint:Marc|Enfant::2019-01-31", "jardin:80|Cuisine|bricolage:0");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->input.household->size(), 3u);
  EXPECT_EQ((*r->input.household)[0].relation, "enfant");
  EXPECT_EQ((*r->input.household)[0].first_name, "Léa");
  EXPECT_EQ((*r->input.household)[0].birth_date, "2015-04-02");
  EXPECT_EQ((*r->input.household)[1].first_name, "Marc");
  EXPECT_FALSE((*r->input.household)[1].birth_date);
  EXPECT_EQ((*r->input.household)[2].relation, "enfant");
  EXPECT_FALSE((*r->input.household)[2].first_name);
  EXPECT_EQ((*r->input.household)[2].birth_date, "2019-01-31");
  ASSERT_EQ(r->input.affinities->size(), 3u);
  EXPECT_EQ((*r->input.affinities)[0].category, "jardin");
  EXPECT_EQ((*r->input.affinities)[0].strength, 80);
  EXPECT_EQ((*r->input.affinities)[1].category, "cuisine");  // lower-cased, strength 50
  EXPECT_EQ((*r->input.affinities)[1].strength, 50);
  EXPECT_EQ((*r->input.affinities)[2].strength, 0);
  EXPECT_TRUE(r->flags.empty());
  // A category written with a comma stays whole in the export's form; a plain list splits.
  auto comma = row("", "fruits, légumes:70");
  ASSERT_TRUE(comma);
  ASSERT_EQ(comma->input.affinities->size(), 1u);
  EXPECT_EQ((*comma->input.affinities)[0].category, "fruits, légumes");
  auto plain = row("", "Jardin, Cuisine; Déco");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->input.affinities->size(), 3u);
  // A '|' or ':' inside a name cannot be written back into a cell: refused, flagged.
  customers::CustomerInput piped;
  piped.last_name = "Roux";
  piped.affinities = std::vector<customers::Affinity>{{"a|b", 10}};
  auto st = customers::validate_customer_input(piped, {}, o.now, "FR");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().field, "affinities[0].category");
  // A custom field keyed as the header keeps its column from the affinities guess.
  auto custom = map_columns(std::vector<std::string>{"Nom", "Appétences"}, {},
                            {{"appetences", "Appétences", customers::CustomFieldType::kText, {}}});
  ASSERT_TRUE(custom) << custom.error().message;
  EXPECT_EQ((*custom)[1].target, Target::kCustom);
  // Bad items are flagged, the rest of the cell kept; a birth date that is no date costs only itself;
  // a child born tomorrow is no child yet (validation), flagged.
  auto bad = row("enfant:Léa:le 2 avril|:Marc|a:b:c:d|enfant:Tom:2027-05-01", "jardin:120|:40|cuisine:beaucoup|déco:70");
  ASSERT_TRUE(bad) << bad.error().message;
  ASSERT_EQ(bad->input.household->size(), 1u);
  EXPECT_EQ((*bad->input.household)[0].first_name, "Léa");
  EXPECT_FALSE((*bad->input.household)[0].birth_date);
  ASSERT_EQ(bad->input.affinities->size(), 1u);
  EXPECT_EQ((*bad->input.affinities)[0].category, "déco");
  int household_flags = 0, affinity_flags = 0;
  for (const Flag& f : bad->flags) {
    household_flags += f.field == "household";
    affinity_flags += f.field == "affinities";
  }
  EXPECT_EQ(household_flags, 4);
  EXPECT_EQ(affinity_flags, 3);
  // A date of a known shape that is no day says why, as everywhere.
  auto impossible = row("enfant:Léa:31/02/2015|enfant:Tom:01/01/1850", "");
  ASSERT_TRUE(impossible) << impossible.error().message;
  ASSERT_EQ(impossible->flags.size(), 2u);
  EXPECT_EQ(impossible->flags[0].reason, "the birth date: no such calendar date; the member is kept without it");
  EXPECT_NE(impossible->flags[1].reason.find("out of range"), std::string::npos) << impossible->flags[1].reason;
}

TEST(RowBuilder, ValuesAsShopFilesWriteThem) {
  std::vector<std::string> header = {"Nom complet", "E-mail", "Téléphone", "Téléphone 2", "Code postal", "Ville", "Pays"};
  auto cols = map_columns(header, {}, {});
  ASSERT_TRUE(cols) << cols.error().message;
  RowOptions o{"boutique", "FR", 1'767'225'600'000};
  auto row = [&](std::vector<std::string> fields) { return build_row(CsvRecord{2, 2, std::move(fields)}, *cols, o, {}); };
  // A full name in one cell: the surname in capitals, or after a comma, or the last word with its particles.
  auto caps = row({"DUPONT Jean-Pierre", "", "0612345687", "", "", "", ""});
  ASSERT_TRUE(caps) << caps.error().message;
  EXPECT_EQ(caps->input.first_name, "Jean-Pierre");
  EXPECT_EQ(caps->input.last_name, "Dupont");
  auto comma = row({"Martin, Anne", "", "0612345687", "", "", "", ""});
  EXPECT_EQ(comma->input.first_name, "Anne");
  EXPECT_EQ(comma->input.last_name, "Martin");
  auto particles = row({"Jean de la Fontaine", "", "0612345687", "", "", "", ""});
  EXPECT_EQ(particles->input.first_name, "Jean");
  EXPECT_EQ(particles->input.last_name, "de la Fontaine");
  // A civility in front is the civility; "épouse" gives the name in use, "née" a name set aside.
  auto titled = row({"M. Jean Dupont", "", "0612345687", "", "", "", ""});
  EXPECT_EQ(titled->input.civility, "M.");
  EXPECT_EQ(titled->input.first_name, "Jean");
  EXPECT_EQ(titled->input.last_name, "Dupont");
  auto madame = row({"Mme Marie-Claire LE GOFF", "", "0612345687", "", "", "", ""});
  EXPECT_EQ(madame->input.civility, "Mme");
  EXPECT_EQ(madame->input.first_name, "Marie-Claire");
  EXPECT_EQ(madame->input.last_name, "Le Goff");
  auto married = row({"Marie Dupont épouse Martin", "", "0612345687", "", "", "", ""});
  EXPECT_EQ(married->input.first_name, "Marie");
  EXPECT_EQ(married->input.last_name, "Martin");
  auto short_form = row({"Marie DUPONT ép. MARTIN", "", "0612345687", "", "", "", ""});
  EXPECT_EQ(short_form->input.first_name, "Marie");
  EXPECT_EQ(short_form->input.last_name, "Martin");
  auto born = row({"Marie MARTIN née DUPONT", "", "0612345687", "", "", "", ""});
  EXPECT_EQ(born->input.first_name, "Marie");
  EXPECT_EQ(born->input.last_name, "Martin");
  auto bracketed = row({"Dupont, Jean-Pierre (M.)", "", "0612345687", "", "", "", ""});
  EXPECT_EQ(bracketed->input.civility, "M.");
  EXPECT_EQ(bracketed->input.first_name, "Jean-Pierre");
  EXPECT_EQ(bracketed->input.last_name, "Dupont");
  // E-mails as mail programs export them, a one-letter top-level domain flagged.
  auto display = row({"Anne Martin", "Anne Martin <anne.martin@orange.fr>", "", "", "", "", ""});
  ASSERT_TRUE(display) << display.error().message;
  ASSERT_EQ(display->input.emails->size(), 1u);
  EXPECT_EQ((*display->input.emails)[0].email, "anne.martin@orange.fr");
  EXPECT_TRUE(display->flags.empty());
  auto mailto = row({"Anne Martin", "mailto:anne@free.fr", "", "", "", "", ""});
  EXPECT_EQ((*mailto->input.emails)[0].email, "anne@free.fr");
  // A comma typed for the last dot is not two addresses; a comma between two addresses is.
  auto comma_dot = row({"Anne Martin", "anne@orange,fr", "", "", "", "", ""});
  ASSERT_TRUE(comma_dot);
  ASSERT_EQ(comma_dot->input.emails->size(), 1u);
  EXPECT_EQ((*comma_dot->input.emails)[0].email, "anne@orange.fr");
  EXPECT_TRUE(comma_dot->flags.empty());
  auto two = row({"Anne Martin", "anne@orange.fr,anne@free.fr", "", "", "", "", ""});
  ASSERT_EQ(two->input.emails->size(), 2u);
  auto named = row({"Anne Martin", "\"Martin, Anne\" <anne@orange,fr>", "", "", "", "", ""});  // in display-name form too
  ASSERT_TRUE(named);
  ASSERT_EQ(named->input.emails->size(), 1u);
  EXPECT_EQ((*named->input.emails)[0].email, "anne@orange.fr");
  EXPECT_TRUE(named->flags.empty());
  auto mixed_list = row({"Anne Martin", "anne@orange,fr; anne@free.fr", "", "", "", "", ""});
  ASSERT_EQ(mixed_list->input.emails->size(), 2u);
  EXPECT_EQ((*mixed_list->input.emails)[0].email, "anne@orange.fr");
  auto full_stop = row({"Anne Martin", "anne@orange.fr.", "", "", "", "", ""});
  EXPECT_EQ((*full_stop->input.emails)[0].email, "anne@orange.fr");  // the root's dot
  auto tld = row({"Anne Martin", "anne@exemple.c", "", "", "", "", ""});
  ASSERT_TRUE(tld);
  EXPECT_TRUE(tld->input.emails->empty());
  ASSERT_EQ(tld->flags.size(), 1u);
  EXPECT_EQ(tld->flags[0].field, "email");
  // One number in two columns, written two ways, is one number.
  auto twice = row({"Anne Martin", "", "06 12 34 56 87", "+33612345687", "", "", ""});
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->input.phones->size(), 1u);
  // Cedex and the old "F-" prefix keep their postcode; "UK" and "FRA" are countries.
  auto cedex = row({"Anne Martin", "a@free.fr", "", "", "75008 CEDEX 08", "PARIS", ""});
  ASSERT_TRUE(cedex) << cedex.error().message;
  EXPECT_EQ(cedex->input.address->postcode, "75008");
  EXPECT_EQ(cedex->input.address->city, "Paris Cedex 08");
  EXPECT_TRUE(cedex->flags.empty());
  auto prefixed = row({"Anne Martin", "a@free.fr", "", "", "F-75001", "Paris", ""});
  EXPECT_EQ(prefixed->input.address->postcode, "75001");
  auto uk = row({"Anne Martin", "a@free.fr", "", "", "SW1A 1AA", "London", "UK"});
  EXPECT_EQ(uk->input.address->country, "GB");
  EXPECT_EQ(uk->input.address->postcode, "SW1A 1AA");
  auto fra = row({"Anne Martin", "a@free.fr", "", "", "69002", "Lyon", "FRA"});
  EXPECT_EQ(fra->input.address->country, "FR");
  auto filler = row({"Anne Martin", "a@free.fr", "", "", "00000", "Lyon", ""});
  ASSERT_TRUE(filler);
  EXPECT_FALSE(filler->input.address->postcode);
  ASSERT_EQ(filler->flags.size(), 1u);
  EXPECT_EQ(filler->flags[0].field, "postcode");
  // A company among the customers: its name kept whole as the last name, flagged; not a first name
  // "Boulangerie Martin" (a legal form, a first word naming a business, "& Fils").
  for (const auto& [cell, name, marker] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"SARL DUPONT", "SARL Dupont", "SARL"},
           {"Boulangerie Martin SAS", "Boulangerie Martin SAS", "SAS"},
           {"Ets Durand", "Ets Durand", "Ets"},
           {"Dupont & Fils", "Dupont & Fils", "& Fils"},
           {"Association Les Amis du Vélo", "Association Les Amis du Vélo", "Association"}}) {
    auto company = row({cell, "contact@exemple.fr", "", "", "", "", ""});
    ASSERT_TRUE(company) << cell;
    EXPECT_FALSE(company->input.first_name) << cell;
    EXPECT_EQ(company->input.last_name, name) << cell;
    ASSERT_EQ(company->flags.size(), 1u) << cell;
    EXPECT_EQ(company->flags[0].field, "last_name");
    EXPECT_NE(company->flags[0].reason.find("company's name (" + marker + ")"), std::string::npos) << company->flags[0].reason;
  }
  // Persons stay persons: "Sa" after a particle or a first name is a surname (Sá without its
  // accent), "A.G." initials; "et" between two first names.
  for (const std::string person : {"Maria DE SA", "NUNO SA", "M. SA Nuno", "DUPONT A.G."}) {
    auto sa = row({person, "m@exemple.fr", "", "", "", "", ""});
    ASSERT_TRUE(sa) << person;
    EXPECT_TRUE(sa->input.first_name) << person;
    EXPECT_TRUE(sa->flags.empty()) << person;
  }
  auto sa_company = row({"MARTIN FRERES SA", "m@exemple.fr", "", "", "", "", ""});
  EXPECT_EQ(sa_company->input.last_name, "Martin Freres SA");
  auto couple = row({"Jean et Marie Dupont", "jm@exemple.fr", "", "", "", "", ""});
  EXPECT_EQ(couple->input.first_name, "Jean");
  EXPECT_TRUE(couple->flags.empty());
  // Placeholders make no name: a row with nothing else is rejected.
  auto placeholder = row({"N/A", "n/a", "0000000000", "", "", "", ""});
  ASSERT_FALSE(placeholder);
}

TEST(RowBuilder, InvisibleCharactersAndLineBreaksInCellsLoseNothing) {
  std::vector<std::string> header = {"Nom", "Prénom", "E-mail", "Téléphone", "Adresse", "Complément", "Code postal",
                                     "Ville", "Pays", "Tags", "note"};
  std::vector<customers::CustomFieldDef> defs = {{"note", "Note", customers::CustomFieldType::kText, {}}};
  auto cols = map_columns(header, {}, defs);
  ASSERT_TRUE(cols) << cols.error().message;
  RowOptions o{"boutique", "FR", 1'767'225'600'000};
  auto row = [&](std::vector<std::string> fields) { return build_row(CsvRecord{2, 2, std::move(fields)}, *cols, o, defs); };
  // A zero-width space, a BOM where two files were joined, a number a messaging app wrapped in
  // directional marks: taken out, the values kept, nothing flagged.
  auto hidden = row({"\uFEFFDu\u200Bpont", "Jean\u2060", "jean\u200B@exemple.fr", "\u202A+33 6 12 34 56 87\u202C",
                     "12 rue\u200E de la Paix", "", "75002", "Paris", "", "", ""});
  ASSERT_TRUE(hidden) << hidden.error().message;
  EXPECT_EQ(hidden->input.last_name, "Dupont");
  EXPECT_EQ(hidden->input.first_name, "Jean");
  ASSERT_EQ(hidden->input.emails->size(), 1u);
  EXPECT_EQ((*hidden->input.emails)[0].email, "jean@exemple.fr");
  ASSERT_EQ(hidden->input.phones->size(), 1u);
  EXPECT_EQ((*hidden->input.phones)[0].e164, "+33612345687");
  EXPECT_EQ(hidden->input.address->street, "12 rue de la Paix");
  EXPECT_TRUE(hidden->flags.empty()) << hidden->flags[0].field << ": " << hidden->flags[0].reason;
  // Excel's Alt+Enter: a street's next lines come before the complement's; numbers, e-mails and
  // tags on several lines are several; elsewhere a line break or a tab is a space; a text custom
  // field keeps its lines.
  auto lines = row({"Martin", "Anne\nSophie", "a@free.fr\r\nanne@orange.fr", "06 11 22 33 44\n01 45 67 89 10",
                    "5 rue Victor Hugo\r\nBâtiment B\n", "Appt 3", "69001", "Lyon\t", "", "vip\nnewsletter",
                    "Livrer\r\nle matin"});
  ASSERT_TRUE(lines) << lines.error().message;
  EXPECT_EQ(lines->input.first_name, "Anne Sophie");
  EXPECT_EQ(lines->input.address->street, "5 rue Victor Hugo");
  EXPECT_EQ(lines->input.address->street2, "Bâtiment B, Appt 3");
  EXPECT_EQ(lines->input.address->city, "Lyon");
  ASSERT_EQ(lines->input.emails->size(), 2u);
  ASSERT_EQ(lines->input.phones->size(), 2u);
  EXPECT_EQ((*lines->input.phones)[1].e164, "+33145678910");
  EXPECT_EQ(lines->input.tags, (std::vector<std::string>{"newsletter", "vip"}));
  EXPECT_EQ(std::get<std::string>(*lines->input.custom_fields->at("note")), "Livrer\nle matin");
  auto mac = row({"Martin", "Anne", "a@free.fr", "", "", "", "", "", "", "", "Livrer\rle matin"});
  EXPECT_EQ(std::get<std::string>(*mac->input.custom_fields->at("note")), "Livrer\nle matin");
  // A text custom field's line that is no UTF-8 (a byte Windows-1252 leaves undefined, kept as it
  // was): flagged, not stored.
  auto bytes = row({"Martin", "Anne", "a@free.fr", "", "", "", "", "", "", "", "caf\x81"});
  ASSERT_TRUE(bytes) << bytes.error().message;
  EXPECT_FALSE(bytes->input.custom_fields && bytes->input.custom_fields->contains("note"));
  ASSERT_EQ(bytes->flags.size(), 1u);
  EXPECT_EQ(bytes->flags[0].field, "note");
  EXPECT_TRUE(lines->flags.empty()) << lines->flags[0].field << ": " << lines->flags[0].reason;
  // A whole address block in the street cell: its town line and its country line fill the parts
  // no column gives; a postcode column, when there is one, wins.
  auto block = row({"Leroy", "Eva", "eva@free.fr", "", "1 Grand-Place\n1000 Bruxelles\nBelgique", "", "", "", "", "", ""});
  ASSERT_TRUE(block) << block.error().message;
  EXPECT_EQ(block->input.address->street, "1 Grand-Place");
  EXPECT_FALSE(block->input.address->street2);
  EXPECT_EQ(block->input.address->postcode, "1000");
  EXPECT_EQ(block->input.address->city, "Bruxelles");
  EXPECT_EQ(block->input.address->country, "BE");
  auto french = row({"Durand", "Paul", "p@free.fr", "", "8 av. Foch\r\nRésidence les Pins\r\nF-69006 LYON", "", "", "", "",
                     "", ""});
  ASSERT_TRUE(french) << french.error().message;
  EXPECT_EQ(french->input.address->street2, "Résidence les Pins");
  EXPECT_EQ(french->input.address->postcode, "69006");
  EXPECT_EQ(french->input.address->city, "Lyon");
  EXPECT_EQ(french->input.address->country, "FR");
  auto given = row({"Durand", "Paul", "p@free.fr", "", "8 av. Foch\n75016 Paris", "", "75016", "Paris", "", "", ""});
  ASSERT_TRUE(given);
  EXPECT_EQ(given->input.address->postcode, "75016");
  EXPECT_EQ(given->input.address->city, "Paris");
  EXPECT_FALSE(given->input.address->street2);
  // A block's town line that says something else than the columns stays in the address.
  auto other = row({"Durand", "Paul", "p@free.fr", "", "8 av. Foch\n69006 Lyon", "", "75016", "Paris", "", "", ""});
  ASSERT_TRUE(other);
  EXPECT_EQ(other->input.address->postcode, "75016");
  EXPECT_EQ(other->input.address->street2, "69006 Lyon");
  // Rural addresses count metres: "1450 chemin des Oliviers" is a street line, not a postcode and
  // town, and nothing of the block is lost.
  auto rural = row({"Durand", "Paul", "p@free.fr", "", "Résidence Les Pins\n1450 chemin des Oliviers", "", "06130", "Grasse",
                    "", "", ""});
  ASSERT_TRUE(rural) << rural.error().message;
  EXPECT_EQ(rural->input.address->street, "Résidence Les Pins");
  EXPECT_EQ(rural->input.address->street2, "1450 chemin des Oliviers");
  EXPECT_EQ(rural->input.address->postcode, "06130");
  auto rural_block = row({"Durand", "Paul", "p@free.fr", "", "Résidence Les Pins\n1450 chemin des Oliviers\n06130 Grasse",
                          "", "", "", "", "", ""});
  ASSERT_TRUE(rural_block) << rural_block.error().message;
  EXPECT_EQ(rural_block->input.address->street2, "1450 chemin des Oliviers");
  EXPECT_EQ(rural_block->input.address->postcode, "06130");
  EXPECT_EQ(rural_block->input.address->city, "Grasse");
  // A control character that is no line break still costs its value, flagged.
  auto nul = row({"Martin", std::string("An\0ne", 5), "a@free.fr", "", "", "", "", "", "", "", ""});
  ASSERT_TRUE(nul);
  EXPECT_FALSE(nul->input.first_name);
  ASSERT_EQ(nul->flags.size(), 1u);
  EXPECT_EQ(nul->flags[0].field, "first_name");
}

TEST(RowBuilder, NumbersAsFrenchAndOtherSpreadsheetsWriteThem) {
  std::vector<customers::CustomFieldDef> defs = {{"panier", "Panier moyen", customers::CustomFieldType::kNumber, {}},
                                                 {"points", "Points", customers::CustomFieldType::kInteger, {}}};
  std::vector<std::string> header = {"E-mail", "panier", "points"};
  auto cols = map_columns(header, {}, defs);
  ASSERT_TRUE(cols) << cols.error().message;
  RowOptions o{"boutique", "FR", 1'767'225'600'000};
  auto read = [&](const std::string& panier, const std::string& points) {
    return build_row(CsvRecord{2, 2, {"a@free.fr", panier, points}}, *cols, o, defs);
  };
  struct Case {
    std::string cell;
    double number;
  };
  for (const Case& c : std::vector<Case>{{"1234,50", 1234.5},  {"1 234,50", 1234.5},      {"1 234,50", 1234.5},
                                         {"1 234,5", 1234.5}, {"1.234,50", 1234.5},  {"1,234.50", 1234.5},
                                         {"1'234.50", 1234.5}, {"12,5", 12.5},            {"1 234 567", 1234567},
                                         {"45,90 €", 45.9},    {"€45.90", 45.9},          {"-3,5", -3.5},
                                         {"1.234.567,89", 1234567.89}, {"0,05 EUR", 0.05}}) {
    auto row = read(c.cell, "");
    ASSERT_TRUE(row) << c.cell;
    EXPECT_TRUE(row->flags.empty()) << c.cell << ": " << row->flags[0].reason;
    ASSERT_TRUE(row->input.custom_fields) << c.cell;
    EXPECT_DOUBLE_EQ(std::get<double>(*row->input.custom_fields->at("panier")), c.number) << c.cell;
  }
  for (const auto& [cell, n] : std::vector<std::pair<std::string, int64_t>>{
           {"1 234", 1234}, {"1.234", 1234}, {"1,234,567", 1234567}, {"-12", -12}, {"+7", 7}}) {
    auto row = read("", cell);
    ASSERT_TRUE(row && row->input.custom_fields) << cell;
    EXPECT_EQ(std::get<int64_t>(*row->input.custom_fields->at("points")), n) << cell;
  }
  // Not numbers: flagged on their field, the row kept.
  for (const std::string cell : {"06 12 34 56", "12 %", "1,5,6", "abc", "1e5", "1 2345", ",5", "12,"}) {
    auto row = read(cell, "");
    ASSERT_TRUE(row) << cell;
    ASSERT_EQ(row->flags.size(), 1u) << cell;
    EXPECT_EQ(row->flags[0].field, "panier") << cell;
    EXPECT_NE(row->flags[0].reason.find("expected a number"), std::string::npos) << cell;
  }
  for (const std::string cell : {"1,5", "3.25", "99999999999999999999", "1 23"}) {
    auto row = read("", cell);
    ASSERT_TRUE(row) << cell;
    ASSERT_EQ(row->flags.size(), 1u) << cell;
    EXPECT_EQ(row->flags[0].field, "points") << cell;
  }
}

TEST(RowBuilder, AnOdooExportSaysWhichContactsAreCompanies) {
  std::vector<std::string> header = {"id", "name", "email", "phone", "mobile", "street", "zip", "city", "country_id", "is_company"};
  auto cols = map_columns(header, {}, {});
  ASSERT_TRUE(cols) << cols.error().message;
  EXPECT_EQ((*cols)[8].target, Target::kCountry);
  EXPECT_EQ((*cols)[9].target, Target::kIsCompany);
  RowOptions o{"odoo", "FR", 1'767'225'600'000};
  auto row = [&](std::vector<std::string> fields) { return build_row(CsvRecord{2, 2, std::move(fields)}, *cols, o, {}); };
  // A company without a legal form in its name is one all the same.
  auto shop = row({"p7", "Boulangerie Durand", "contact@durand.fr", "02 512 34 56", "", "3 Grand-Place", "1000",
                   "Bruxelles", "Belgique", "True"});
  ASSERT_TRUE(shop) << shop.error().message;
  EXPECT_FALSE(shop->input.first_name);
  EXPECT_EQ(shop->input.last_name, "Boulangerie Durand");
  EXPECT_EQ(shop->input.address->country, "BE");
  ASSERT_EQ(shop->flags.size(), 1u);
  EXPECT_NE(shop->flags[0].reason.find("(is_company)"), std::string::npos) << shop->flags[0].reason;
  // A person is split, even with a name that looks like a company's.
  auto person = row({"p8", "Entreprise Durand", "paul@durand.fr", "", "06 12 34 56 87", "", "", "", "", "False"});
  ASSERT_TRUE(person) << person.error().message;
  EXPECT_EQ(person->input.first_name, "Entreprise");
  EXPECT_EQ(person->input.last_name, "Durand");
  EXPECT_TRUE(person->flags.empty());
  auto typed = map_columns(std::vector<std::string>{"Name", "Email", "Company Type"}, {}, {});
  ASSERT_TRUE(typed);
  auto company = build_row(CsvRecord{2, 2, {"Garage Martin", "g@martin.fr", "company"}}, *typed, o, {});
  ASSERT_TRUE(company);
  EXPECT_EQ(company->input.last_name, "Garage Martin");
  auto odd = build_row(CsvRecord{2, 2, {"Jean Martin", "j@martin.fr", "peut-être"}}, *typed, o, {});
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->input.first_name, "Jean");
  ASSERT_EQ(odd->flags.size(), 1u);
  EXPECT_EQ(odd->flags[0].field, "is_company");
}

TEST(RowBuilder, MailchimpsAddressInOneCellGivesItsParts) {
  std::vector<std::string> header = {"Email Address", "First Name", "Last Name", "Address"};
  auto cols = map_columns(header, {}, {});
  ASSERT_TRUE(cols) << cols.error().message;
  RowOptions o{"mailchimp", "FR", 1'767'225'600'000};
  auto row = [&](const std::string& address) {
    return build_row(CsvRecord{2, 2, {"jean@orange.fr", "Jean", "Dupont", address}}, *cols, o, {});
  };
  auto fr = row("12 rue de la Paix  Bât. B  Paris  75002  FR");
  ASSERT_TRUE(fr) << fr.error().message;
  EXPECT_EQ(fr->input.address->street, "12 rue de la Paix");
  EXPECT_EQ(fr->input.address->street2, "Bât. B");
  EXPECT_EQ(fr->input.address->postcode, "75002");
  EXPECT_EQ(fr->input.address->city, "Paris");
  EXPECT_EQ(fr->input.address->country, "FR");
  EXPECT_TRUE(fr->flags.empty());
  auto us = row("1 Main St  Springfield  IL  62701  US");
  ASSERT_TRUE(us) << us.error().message;
  EXPECT_EQ(us->input.address->street, "1 Main St");
  EXPECT_FALSE(us->input.address->street2);
  EXPECT_EQ(us->input.address->city, "Springfield");
  EXPECT_EQ(us->input.address->postcode, "62701");
  EXPECT_EQ(us->input.address->country, "US");
  // Two spaces typed by chance split nothing.
  auto typed = row("12 rue  de la Paix");
  ASSERT_TRUE(typed);
  EXPECT_EQ(typed->input.address->street, "12 rue  de la Paix");
  EXPECT_FALSE(typed->input.address->postcode);
}

TEST(RowBuilder, AnAddressBlockBesideItsStreetColumnsIsNotReadTwice) {
  // Outlook: "Home Street" and "Home Street 2" before the formatted "Home Address" block, whatever
  // the order of the columns.
  std::vector<std::string> header = {"First Name", "Last Name", "Home Address", "Home Street", "Home Street 2", "Home City",
                                     "Home Postal Code"};
  auto cols = map_columns(header, {}, {});
  ASSERT_TRUE(cols) << cols.error().message;
  RowOptions o{"outlook", "FR", 1'767'225'600'000};
  auto row = build_row(CsvRecord{2, 2, {"Jean", "Dupont", "12 rue de la Paix\r\nBât B\r\n75002 Paris\r\nFrance",
                                        "12 rue de la Paix", "Bât B", "Paris", "75002"}},
                       *cols, o, {});
  ASSERT_TRUE(row) << row.error().message;
  EXPECT_EQ(row->input.address->street, "12 rue de la Paix");
  EXPECT_EQ(row->input.address->street2, "Bât B");
  EXPECT_EQ(row->input.address->postcode, "75002");
  // Only the block: it gives the whole address.
  auto block = build_row(CsvRecord{2, 2, {"Jean", "Dupont", "12 rue de la Paix\r\nBât B\r\n75002 Paris\r\nFrance", "", "",
                                          "", ""}},
                         *cols, o, {});
  ASSERT_TRUE(block) << block.error().message;
  EXPECT_EQ(block->input.address->street, "12 rue de la Paix");
  EXPECT_EQ(block->input.address->street2, "Bât B");
  EXPECT_EQ(block->input.address->city, "Paris");
  EXPECT_EQ(block->input.address->country, "FR");
}

TEST(RowBuilder, AnOptOutWithdrawsWhateverTheRowsConsentColumnsSay) {
  std::vector<std::string> header = {"EMAIL", "OPT_IN", "EMAIL_BLACKLISTED", "SMS_BLACKLISTED", "Accepte SMS"};
  auto cols = map_columns(header, {{"EMAIL", "email"}, {"OPT_IN", "consent:email:newsletter"},
                                   {"EMAIL_BLACKLISTED", "opt_out:email"}, {"SMS_BLACKLISTED", "opt_out:sms:offers"},
                                   {"Accepte SMS", "consent:sms:offers"}},
                          {});
  ASSERT_TRUE(cols) << cols.error().message;
  RowOptions o{"brevo", "FR", 1'767'225'600'000};
  auto row = [&](std::vector<std::string> fields) { return build_row(CsvRecord{2, 2, std::move(fields)}, *cols, o, {}); };
  auto said = [](const BuiltRow& r, customers::Channel ch, customers::Purpose pu) -> std::optional<bool> {
    if (!r.input.consents) return std::nullopt;
    for (const auto& c : *r.input.consents)
      if (c.channel == ch && c.purpose == pu) return c.granted;
    return std::nullopt;
  };
  using customers::Channel;
  using customers::Purpose;
  // Opted in once, blacklisted since: both e-mail marketing consents withdrawn, service untouched.
  auto out = row({"a@free.fr", "Yes", "Yes", "", ""});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(said(*out, Channel::kEmail, Purpose::kNewsletter), false);
  EXPECT_EQ(said(*out, Channel::kEmail, Purpose::kOffers), false);
  EXPECT_EQ(said(*out, Channel::kEmail, Purpose::kService), std::nullopt);
  // A date (when the person left) is a yes; the column after the consent wins all the same.
  auto dated = row({"b@free.fr", "", "", "2024-03-05 10:11:12", "oui"});
  ASSERT_TRUE(dated) << dated.error().message;
  EXPECT_EQ(said(*dated, Channel::kSms, Purpose::kOffers), false);
  EXPECT_EQ(said(*dated, Channel::kSms, Purpose::kNewsletter), std::nullopt);
  EXPECT_TRUE(dated->flags.empty());
  // A no says nothing: the consent column is heard.
  auto in = row({"c@free.fr", "Yes", "No", "0", "oui"});
  ASSERT_TRUE(in);
  EXPECT_EQ(said(*in, Channel::kEmail, Purpose::kNewsletter), true);
  EXPECT_EQ(said(*in, Channel::kEmail, Purpose::kOffers), std::nullopt);
  EXPECT_EQ(said(*in, Channel::kSms, Purpose::kOffers), true);
  // Anything else is flagged on its column, the row kept.
  auto odd = row({"d@free.fr", "", "peut-être", "", ""});
  ASSERT_TRUE(odd);
  ASSERT_EQ(odd->flags.size(), 1u);
  EXPECT_EQ(odd->flags[0].field, "opt_out:email");
}

TEST(RowBuilder, AnyCellsGiveARowOrAReasonNeverACrash) {
  // Cells made of the pieces real files hold, shuffled: every row gives a customer (its flags
  // naming real fields) or a rejection naming a field.
  std::vector<std::string> header = {"Nom complet", "Prénom", "E-mail", "Téléphone", "Adresse", "Complément", "Code postal",
                                     "Ville", "Pays", "Date de naissance", "Tags", "panier", "Newsletter", "EMAIL_BLACKLISTED",
                                     "is_company", "Phone 1 - Label", "Phone 1 - Value", "household", "affinities",
                                     "CONFIRM_TIME", "id"};
  std::vector<customers::CustomFieldDef> defs = {{"panier", "Panier", customers::CustomFieldType::kNumber, {}}};
  auto cols = map_columns(header, {}, defs);
  ASSERT_TRUE(cols) << cols.error().message;
  RowOptions o{"boutique", "FR", 1'767'225'600'000};
  const std::vector<std::string> pieces = {"Jean", "DUPONT", " ", "  ", "\n", "\r\n", "\t", ",", ";", ":::", "'", "-", "@",
                                           "a@b.fr", "06 12 34 56 87", "75002", "1000", "F-", "Paris", "FR", "Belgique",
                                           "\u00A0", "\u202F", "\u200B", "\uFEFF", "\u202A", "\u202E", "\u00AD", "é",
                                           "1 234,50", "€", ".", "SARL", "& Fils", "(M.)", "née", "épouse", "x", "oui",
                                           "31/12/1999", "2024-01-01 10:00", "*", "Mobile", "\x01", "\xC2\x85", "\xE2\x80\xA8",
                                           "0", "99999999999999999999", "   12 rue X  Paris  75002  FR", "\x7F",
                                           ":", "|", "enfant", "jardin:80", ":-5", "2099-01-01T00:00:00Z", "2024-02-30"};
  std::mt19937 rng(20261207);
  for (int n = 0; n < 3000; ++n) {
    std::vector<std::string> fields;
    for (size_t c = 0; c < header.size(); ++c) {
      std::string cell;
      for (int k = static_cast<int>(rng() % 5); k > 0; --k) cell += pieces[rng() % pieces.size()];
      fields.push_back(std::move(cell));
    }
    auto row = build_row(CsvRecord{2, 2, fields}, *cols, o, defs);
    if (!row) {
      EXPECT_FALSE(row.error().field.empty()) << row.error().message;
      EXPECT_EQ(row.error().message.find("could not be read"), std::string::npos) << row.error().message;  // no exception
      continue;
    }
    for (const Flag& f : row->flags) EXPECT_FALSE(f.field.empty()) << f.reason;
    if (row->input.last_name) {
      EXPECT_TRUE(text::is_valid_utf8(*row->input.last_name));
    }
    if (row->input.address && row->input.address->street) {
      EXPECT_FALSE(text::has_control_character(*row->input.address->street));
    }
  }
}

TEST(RowBuilder, ADeletedCustomerOfAnExportIsRejected) {
  std::vector<std::string> header = {"id", "first_name", "last_name", "email", "deleted_at"};
  auto cols = map_columns(header, {}, {});
  ASSERT_TRUE(cols);
  RowOptions o{"backup", "FR", 1'767'225'600'000};
  auto live = build_row(CsvRecord{2, 2, {"22", "Bob", "Martin", "bob@free.fr", ""}}, *cols, o, {});
  ASSERT_TRUE(live) << live.error().message;
  auto gone = build_row(CsvRecord{3, 3, {"23", "Eve", "Martin", "eve@free.fr", "2026-11-02T10:00:00.000Z"}}, *cols, o, {});
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().field, "deleted_at");
  EXPECT_NE(gone.error().message.find("deleted"), std::string::npos);
}

TEST(RowBuilder, FlagsBadOptionalValuesAndRejectsUnusableRows) {
  std::vector<std::string> header = {"Prénom", "Nom", "E-mail", "Téléphone", "Naissance", "Code postal", "Ville", "Pays"};
  auto cols = *map_columns(header, {}, {});
  RowOptions o{"boutique", "FR", 1'767'225'600'000};
  CsvRecord rec{2, 2, {"jean-PIERRE", "DUPONT", "JP.Dupont@Free.FR", "06 12 34 56 87", "31/02/1980", "1000", "bourg-en-bresse", "France"}};
  auto r = build_row(rec, cols, o, {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->input.first_name, "Jean-Pierre");
  EXPECT_EQ(r->input.last_name, "Dupont");
  EXPECT_EQ((*r->input.emails)[0].email, "JP.Dupont@free.fr");
  EXPECT_EQ((*r->input.phones)[0].e164, "+33612345687");
  EXPECT_FALSE(r->input.birth_date);  // dropped...
  ASSERT_EQ(r->flags.size(), 1u);     // ...and flagged
  EXPECT_EQ(r->flags[0].field, "birth_date");
  EXPECT_EQ(r->flags[0].value, "31/02/1980");
  EXPECT_EQ(r->input.address->postcode, "01000");  // the zero a spreadsheet dropped
  EXPECT_EQ(r->input.address->country, "FR");

  CsvRecord throwaway{5, 5, {"Zoé", "Martin", "zoe@yopmail.com", "", "", "", "", ""}};
  auto flagged = build_row(throwaway, cols, o, {});
  ASSERT_TRUE(flagged);
  ASSERT_EQ(flagged->flags.size(), 1u);
  EXPECT_EQ(flagged->flags[0].reason.substr(0, 10), "disposable");
  // What staff type for "no e-mail" is no address: dropped and flagged, the customer kept by name;
  // alone, it makes no customer.
  CsvRecord placeholder{7, 7, {"Zoé", "Martin", "pas.de.mail@nomail.com", "", "", "", "", ""}};
  auto no_mail = build_row(placeholder, cols, o, {});
  ASSERT_TRUE(no_mail) << no_mail.error().message;
  EXPECT_TRUE(!no_mail->input.emails || no_mail->input.emails->empty());
  ASSERT_EQ(no_mail->flags.size(), 1u);
  EXPECT_EQ(no_mail->flags[0].field, "email");
  EXPECT_EQ(no_mail->flags[0].value, "pas.de.mail@nomail.com");
  EXPECT_NE(no_mail->flags[0].reason.find("placeholder"), std::string::npos) << no_mail->flags[0].reason;
  CsvRecord placeholder_alone{8, 8, {"", "", "aucun@aucun.fr", "", "", "", "", ""}};
  EXPECT_FALSE(build_row(placeholder_alone, cols, o, {}));
  // A domain mistyped from a common provider's: kept, flagged with the one perhaps meant.
  CsvRecord mistyped{6, 6, {"Zoé", "Martin", "zoe.martin@gmial.com", "", "", "", "", ""}};
  auto typo = build_row(mistyped, cols, o, {});
  ASSERT_TRUE(typo);
  EXPECT_EQ((*typo->input.emails)[0].email, "zoe.martin@gmial.com");
  ASSERT_EQ(typo->flags.size(), 1u);
  EXPECT_EQ(typo->flags[0].field, "email");
  EXPECT_NE(typo->flags[0].reason.find("gmail.com was perhaps meant"), std::string::npos) << typo->flags[0].reason;

  CsvRecord only_bad_email{3, 3, {"", "", "pas-un-email", "", "", "", "", ""}};
  auto rejected = build_row(only_bad_email, cols, o, {});
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().field, "E-mail");

  CsvRecord too_many{4, 4, {"a", "b", "c", "d", "e", "f", "g", "h", "extra"}};
  EXPECT_EQ(build_row(too_many, cols, o, {}).error().field, "line");

  // A number kept as given but invalid reaches nobody: alone, it makes no customer.
  CsvRecord only_bad_phone{6, 6, {"", "", "", "12", "", "", "", ""}};
  auto no_phone = build_row(only_bad_phone, cols, o, {});
  ASSERT_FALSE(no_phone);
  EXPECT_NE(no_phone.error().message.find("no valid phone"), std::string::npos) << no_phone.error().message;

  // Four-digit postcodes are Belgian, Swiss, Danish...: only a French one gets its zero back.
  CsvRecord belgian{7, 7, {"Luc", "Peeters", "", "", "", "1000", "Bruxelles", "Belgique"}};
  auto be = build_row(belgian, cols, o, {});
  ASSERT_TRUE(be) << be.error().message;
  EXPECT_EQ(be->input.address->country, "BE");
  EXPECT_EQ(be->input.address->postcode, "1000");
  RowOptions swiss = o;
  swiss.default_country = "CH";
  CsvRecord no_country{8, 8, {"Anna", "Keller", "", "", "", "8001", "Zürich", ""}};
  auto ch = build_row(no_country, cols, swiss, {});
  ASSERT_TRUE(ch) << ch.error().message;
  EXPECT_EQ(ch->input.address->postcode, "8001");

  CsvRecord spaced{13, 13, {"Léa", "Blanc", "", "", "", "75 001", "Paris", "France"}};
  EXPECT_EQ(build_row(spaced, cols, o, {})->input.address->postcode, "75001");
  // Country names in the languages files come in; one nobody recognises is flagged and left
  // empty, not taken for the default country.
  CsvRecord german{10, 10, {"Hans", "Müller", "", "", "", "10115", "Berlin", "Deutschland"}};
  EXPECT_EQ(build_row(german, cols, o, {})->input.address->country, "DE");
  CsvRecord reunion{11, 11, {"Lina", "Payet", "", "", "", "97400", "Saint-Denis", "La Réunion"}};
  EXPECT_EQ(build_row(reunion, cols, o, {})->input.address->country, "RE");
  CsvRecord corsica{14, 14, {"Paul", "Santoni", "", "", "", "20000", "Ajaccio", "Corse"}};
  EXPECT_EQ(build_row(corsica, cols, o, {})->input.address->country, "FR");  // a region, not a country
  CsvRecord narnia{12, 12, {"Lucy", "Pevensie", "", "", "", "1234", "Cair Paravel", "Narnia"}};
  auto nowhere = build_row(narnia, cols, o, {});
  ASSERT_TRUE(nowhere) << nowhere.error().message;
  EXPECT_FALSE(nowhere->input.address->country);
  EXPECT_TRUE(std::any_of(nowhere->flags.begin(), nowhere->flags.end(), [](const Flag& f) { return f.field == "country"; }));
  // Its postcode is kept as given: nothing says it should have a French form.
  EXPECT_EQ(nowhere->input.address->postcode, "1234");
  EXPECT_EQ(nowhere->flags.size(), 1u);
  // "XX" has the form of a country code but is none: flagged, not stored.
  CsvRecord unknown_country{9, 9, {"Eva", "Roux", "", "", "", "75011", "Paris", "XX"}};
  auto xx = build_row(unknown_country, cols, o, {});
  ASSERT_TRUE(xx) << xx.error().message;
  ASSERT_EQ(xx->flags.size(), 1u);
  EXPECT_EQ(xx->flags[0].field, "country");
}

class ImportTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    t_ = storage::testing::make_test_db(GetParam());
    if (!t_.skipped.empty()) GTEST_SKIP() << t_.skipped;
  }
  storage::testing::TestDb t_;
  FakeClock clock_;
  audit::Actor actor_ = audit::Actor::cli("test");
};

// The same shop's customers in two exports: the shop's own (Excel, ';', Windows-1252) and the
// newsletter tool's (UTF-8, ',').
std::string shop_export() {
  return "Civilit\xE9;Pr\xE9nom;Nom;E-mail;T\xE9l\xE9phone;Date de naissance;Adresse;Code postal;Ville;N\xB0 client\r\n"
         "Mme;H\xE9l\xE8ne;L\xC9VY;helene.levy@orange.fr;06 11 22 33 44;09/07/1984;3 all\xE9\x65 des Tilleuls;75011;Paris;C001\r\n"
         "M.;Fran\xE7ois;Dupont;f.dupont@free.fr;;1975-13-01;12 rue Haute;69002;Lyon;C002\r\n"
         ";;;pas-un-email;;;;;;C003\r\n"
         "M;Ga\xEBl;Le Goff;gael.legoff@gmail.com;02 98 00 00 00;1 mars 1990;;29200;Brest;C004\r\n";
}
std::string newsletter_export() {
  return "email,first name,last name,zip,city,Newsletter\n"
         "helene.levy@orange.fr,Hélène,Lévy,75011,Paris,oui\n"
         "zoe.martin@laposte.net,Zoé,Martin,33000,Bordeaux,x\n"
         "f.dupont@free.fr,François,Dupont,69002,Lyon,non\n";
}

TEST_P(ImportTest, TwoOverlappingExportsGiveCountsRejectsFlagsAndProvenance) {
  Importer importer(*t_.db, clock_);
  auto shop = importer.run({.path = write_temp(GetParam() + "_shop.csv", shop_export()), .source = "Boutique",
                            .source_priority = 80},
                           actor_);
  ASSERT_TRUE(shop) << shop.error().field << ": " << shop.error().message;
  EXPECT_EQ(shop->status, "done");
  EXPECT_EQ(shop->encoding, "WINDOWS-1252");
  EXPECT_EQ(shop->delimiter, ';');
  EXPECT_EQ(shop->rows_read, 4);
  EXPECT_EQ(shop->accepted, 3);
  EXPECT_EQ(shop->rejected, 1);
  EXPECT_EQ(shop->flagged, 1);  // Dupont's impossible birth date
  // The shop's file came from French Excel: its rejects file opens there directly.
  std::string rejects = read_file(shop->rejects_path);
  EXPECT_TRUE(rejects.starts_with("\xEF\xBB\xBFline;column;reason;original\r\n4;E-mail;")) << rejects;
  EXPECT_NE(rejects.find("pas-un-email"), std::string::npos) << rejects;
  auto plain = importer.rejects_csv(shop->id);
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->starts_with("line,column,reason,original\r\n4,E-mail,")) << *plain;

  auto news = importer.run({.path = write_temp(GetParam() + "_news.csv", newsletter_export()), .source = "newsletter",
                            .source_priority = 20},
                           actor_);
  ASSERT_TRUE(news) << news.error().message;
  EXPECT_EQ(news->accepted, 1);  // Zoé
  EXPECT_EQ(news->merged, 2);    // Hélène and François, matched by e-mail
  EXPECT_EQ(news->rejected, 0);

  customers::CustomerService svc(*t_.db, clock_);
  auto helene = svc.list({.q = "helene.levy@"});
  ASSERT_TRUE(helene);
  ASSERT_EQ(helene->items.size(), 1u);
  const auto& h = helene->items[0];
  EXPECT_EQ(h.last_name, "Lévy");  // the shop's (higher priority) spelling is kept
  EXPECT_EQ(h.birth_date, "1984-07-09");
  EXPECT_EQ(h.external_ids.size(), 1u);
  // The newsletter tool's opt-in column is her consent, from that source.
  ASSERT_EQ(h.consents.size(), 1u);
  EXPECT_EQ(h.consents[0].channel, customers::Channel::kEmail);
  EXPECT_EQ(h.consents[0].purpose, customers::Purpose::kNewsletter);
  EXPECT_TRUE(h.consents[0].granted);
  EXPECT_EQ(h.consents[0].source, "newsletter");
  auto francois = svc.list({.q = "f.dupont@"});
  ASSERT_EQ(francois->items.size(), 1u);
  ASSERT_EQ(francois->items[0].consents.size(), 1u);
  EXPECT_FALSE(francois->items[0].consents[0].granted);
  storage::Value p[] = {h.id};
  auto prov = t_.db->query("SELECT source FROM customer_provenance WHERE customer_id = $1 ORDER BY source", p);
  ASSERT_TRUE(prov);
  ASSERT_EQ(prov->rows.size(), 2u);
  EXPECT_EQ(prov->rows[0].str(0), "boutique");
  EXPECT_EQ(prov->rows[1].str(0), "newsletter");
  auto flags = t_.db->query("SELECT field, value FROM customer_flags");
  ASSERT_TRUE(flags);
  ASSERT_EQ(flags->rows.size(), 1u);
  EXPECT_EQ(flags->rows[0].str(0), "birth_date");
  EXPECT_EQ(flags->rows[0].str(1), "1975-13-01");

  // Importing the shop's file again changes nothing but the counts of matches.
  auto again = importer.run({.path = write_temp(GetParam() + "_shop2.csv", shop_export() + "\r\n"), .source = "boutique"}, actor_);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->accepted, 0);
  EXPECT_EQ(again->merged, 0);
  EXPECT_EQ(again->unchanged, 3);
  EXPECT_EQ(svc.list({.limit = 100})->items.size(), 4u);
}

TEST_P(ImportTest, AFileSentAgainChangesNothingAndGivesNoWithdrawnConsentBack) {
  Importer importer(*t_.db, clock_);
  const std::string shop = "N\xB0 client;Nom;Pr\xE9nom;E-mail;Newsletter\r\nC1;MARTIN;Jean;jm@exemple.fr;oui\r\n";
  auto first = importer.run({.path = write_temp(GetParam() + "_c1.csv", shop), .source = "boutique"}, actor_);
  ASSERT_TRUE(first) << first.error().message;
  customers::CustomerService svc(*t_.db, clock_);
  auto jean = svc.list({.q = "jm@exemple.fr"});
  ASSERT_EQ(jean->items.size(), 1u);
  const int64_t id = jean->items[0].id;
  // He unsubscribes through the newsletter tool.
  clock_.advance(60'000);
  auto unsub = importer.run({.path = write_temp(GetParam() + "_c2.csv", "Email;Newsletter\r\njm@exemple.fr;non\r\n"),
                             .source = "newsletter"},
                            actor_);
  ASSERT_TRUE(unsub) << unsub.error().message;
  EXPECT_EQ(unsub->updated, 1);  // the customer its e-mail names: an update, not a duplicate merged
  EXPECT_EQ(unsub->merged, 0);
  auto after_unsub = svc.get(id);
  ASSERT_TRUE(after_unsub);
  ASSERT_EQ(after_unsub->consents.size(), 1u);
  EXPECT_FALSE(after_unsub->consents[0].granted);
  const int64_t version = after_unsub->version;
  auto events_before = t_.db->one("SELECT COUNT(*) FROM outbox_events");

  // The shop's unchanged file again (another copy, so another import): his "oui" of before is no
  // new decision.
  clock_.advance(60'000);
  auto again = importer.run({.path = write_temp(GetParam() + "_c3.csv", shop + "\r\n"), .source = "boutique"}, actor_);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->merged, 0);
  EXPECT_EQ(again->unchanged, 1);
  auto now = svc.get(id);
  ASSERT_EQ(now->consents.size(), 1u);
  EXPECT_FALSE(now->consents[0].granted);
  EXPECT_EQ(now->consents[0].source, "newsletter");
  EXPECT_EQ(now->version, version);  // nothing written, no new version
  auto events_after = t_.db->one("SELECT COUNT(*) FROM outbox_events");
  EXPECT_EQ((*events_after)->i64(0), (*events_before)->i64(0));  // and no event

  // An export taken before he unsubscribed, read back later from another source: no import gives a
  // withdrawn consent back (only he can, through a questionnaire or a form); the row is flagged.
  clock_.advance(60'000);
  // The dry run says so before anything is written.
  auto dry = importer.preview({.path = write_temp(GetParam() + "_c4p.csv", "id;email;consent:email:newsletter\r\n1;jm@exemple.fr;oui\r\n"),
                               .source = "tableur"});
  ASSERT_TRUE(dry) << dry.error().message;
  ASSERT_EQ(dry->rows.size(), 1u);
  ASSERT_TRUE(dry->rows[0].customer);
  EXPECT_TRUE(!dry->rows[0].customer->consents || dry->rows[0].customer->consents->empty());
  ASSERT_EQ(dry->rows[0].flags.size(), 1u);
  EXPECT_EQ(dry->rows[0].flags[0].field, "consent:email:newsletter");
  // A row that only shares his second e-mail is another customer for the model (queued for review
  // with him): its consent is its own, and the address stays his, flagged, as the import does.
  const std::string by_email = "email;Email 2;consent:email:newsletter\r\nautre@exemple.fr;jm@exemple.fr;oui\r\n";
  auto matched = importer.preview({.path = write_temp(GetParam() + "_c4e.csv", by_email), .source = " Tableur "});
  ASSERT_TRUE(matched) << matched.error().message;
  ASSERT_TRUE(matched->rows[0].match);
  EXPECT_EQ(matched->rows[0].match->outcome, "review");
  ASSERT_EQ(matched->rows[0].flags.size(), 1u);
  EXPECT_EQ(matched->rows[0].flags[0].field, "email");
  EXPECT_EQ(matched->rows[0].customer->consents->size(), 1u);
  auto old_export = importer.run({.path = write_temp(GetParam() + "_c4.csv", "id;email;consent:email:newsletter\r\n1;jm@exemple.fr;oui\r\n"),
                                  .source = "tableur", .source_priority = 100},
                                 actor_);
  ASSERT_TRUE(old_export) << old_export.error().message;
  EXPECT_EQ(old_export->unchanged + old_export->updated, 1);
  EXPECT_EQ(old_export->merged, 0);
  EXPECT_EQ(old_export->flagged, 1);
  EXPECT_FALSE(svc.get(id)->consents[0].granted);
  auto flag = t_.db->one("SELECT reason FROM customer_flags WHERE field = 'consent:email:newsletter'");
  ASSERT_TRUE(flag && *flag);
  EXPECT_NE((*flag)->str(0).find("does not give a withdrawn consent back"), std::string::npos) << (*flag)->str(0);
  // The same person from another source, his known address second: found through it, merged, and
  // his withdrawal kept.
  clock_.advance(60'000);
  auto salon = importer.run({.path = write_temp(GetParam() + "_c4s.csv",
                                                "Prénom;Nom;Email;Email 2;Newsletter\r\nJean;Martin;jean@salon.fr;jm@exemple.fr;oui\r\n"),
                             .source = "salon"},
                            actor_);
  ASSERT_TRUE(salon) << salon.error().message;
  EXPECT_EQ(salon->merged, 1);
  EXPECT_EQ(salon->accepted, 0);
  auto merged_jean = svc.get(id);
  ASSERT_TRUE(merged_jean);
  EXPECT_FALSE(merged_jean->consents[0].granted);
  EXPECT_EQ(svc.list({.q = "Martin"})->items.size(), 1u);
  // A consent equal to the customer's changes nothing: its source and time stay the proof.
  customers::CustomerInput anne;
  anne.last_name = "Durand";
  anne.emails = std::vector<customers::EmailAddress>{{"ad@exemple.fr", ""}};
  anne.consents = std::vector<customers::Consent>{{customers::Channel::kEmail, customers::Purpose::kNewsletter, true, "web-form", 0}};
  auto made = svc.create(anne, actor_);
  ASSERT_TRUE(made);
  const Millis given_at = made->consents[0].changed_at;
  clock_.advance(60'000);
  auto same = importer.run({.path = write_temp(GetParam() + "_c5.csv", "email;consent:email:newsletter\r\nad@exemple.fr;oui\r\n"),
                            .source = "tableur"},
                           actor_);
  ASSERT_TRUE(same) << same.error().message;
  EXPECT_EQ(same->unchanged, 1);
  auto kept = svc.get(made->id);
  EXPECT_EQ(kept->consents[0].source, "web-form");
  EXPECT_EQ(kept->consents[0].changed_at, given_at);
  EXPECT_EQ(kept->version, made->version);
}

TEST_P(ImportTest, ARowMatchingTwoPeopleAPersonSeparatedGoesToReview) {
  Importer importer(*t_.db, clock_);
  const std::string head = "id,first_name,last_name,email,phone,street,postcode,city,birth_date,tags\n";
  ASSERT_TRUE(importer.run({.path = write_temp(GetParam() + "_s1.csv", head + "1,Jeanne,Durandal,ja@exemple.fr,0611111112,5 rue A,75011,Paris,1980-01-01,t1\n"),
                            .source = "a"},
                           actor_));
  auto second = importer.run({.path = write_temp(GetParam() + "_s2.csv", head + "2,Jeanne,Durandal,,0611111112,5 rue A,75011,Paris,1980-01-01,t2\n"),
                              .source = "b"},
                             actor_);
  ASSERT_TRUE(second) << second.error().message;
  ASSERT_EQ(second->merged, 1);
  merging::MergeService merges(*t_.db, clock_);
  auto merge = t_.db->one("SELECT id FROM customer_merges");
  ASSERT_TRUE(merges.unmerge((*merge)->i64(0), actor_));  // a person: these are two people
  // A row like both of them: merging it into either would be a guess.
  auto third = importer.run({.path = write_temp(GetParam() + "_s3.csv", head + "2,Jeanne,Durandal,,+33611111112,5 rue A,75011,Paris,1980-01-01,t2|t3\n"),
                             .source = "export"},
                            actor_);
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_EQ(third->merged, 0);
  EXPECT_EQ(third->accepted, 1);
  EXPECT_EQ(third->queued, 1);
  auto reviews = t_.db->one("SELECT COUNT(*) FROM merge_reviews WHERE status = 'pending'");
  EXPECT_EQ((*reviews)->i64(0), 2);  // the new record with each of them
  auto tags = t_.db->one("SELECT COUNT(*) FROM customer_tags WHERE tag = 't3'");
  EXPECT_EQ((*tags)->i64(0), 1);  // on the new record only
}

TEST_P(ImportTest, AReviewShowsTheEmailARowLeftToItsOwner) {
  Importer importer(*t_.db, clock_);
  const std::string head = "id,civility,first_name,last_name,email,phone,street,postcode,city,birth_date\n";
  ASSERT_TRUE(importer.run({.path = write_temp(GetParam() + "_lo.csv", head + "L1,M,JP,DUPONT,jpd@exemple.fr,,1 rue Vieille,75001,Paris,1970-05-05\n"),
                            .source = "lo", .source_priority = 10},
                           actor_));
  auto hi = importer.run({.path = write_temp(GetParam() + "_hi.csv", head + "H1,,Jean-Pierre,Dupont,jpd@exemple.fr,0622222223,,,,1970-05-06\n"),
                          .source = "hi", .source_priority = 90},
                         actor_);
  ASSERT_TRUE(hi) << hi.error().message;
  ASSERT_EQ(hi->queued, 1);
  merging::MergeService merges(*t_.db, clock_);
  auto page = merges.reviews({});
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->items.size(), 1u);
  const merging::Review& r = page->items[0];
  auto email = std::find_if(r.fields.begin(), r.fields.end(), [](const merging::FieldSideBySide& f) { return f.field == "email"; });
  ASSERT_NE(email, r.fields.end());
  EXPECT_EQ(email->a, "jpd@exemple.fr");
  EXPECT_EQ(email->b, "jpd@exemple.fr");  // the evidence that queued the pair
  EXPECT_NE(email->level, "missing");
  EXPECT_GE(r.current_score, 12);
}

TEST_P(ImportTest, ASourceChangingItsMindIsHeardAndOneRepeatingItselfIsNot) {
  Importer importer(*t_.db, clock_);
  customers::CustomerService svc(*t_.db, clock_);
  auto shop = [&](const std::string& name, const std::string& says) {
    clock_.advance(60'000);
    auto r = importer.run({.path = write_temp(GetParam() + "_" + name + ".csv",
                                              "id;Nom;Prénom;E-mail;Newsletter\r\nB5;ROUX;Marc;mr@exemple.fr;" + says + "\r\n"),
                           .source = "boutique"},
                          actor_);
    EXPECT_TRUE(r) << r.error().message;
  };
  auto granted = [&] { return svc.list({.q = "mr@exemple.fr"})->items[0].consents[0].granted; };
  shop("m1", "oui");
  shop("m2", "non");
  EXPECT_FALSE(granted());
  // He subscribes again himself; the shop's nightly file still says "non": it repeats itself.
  const int64_t id = svc.list({.q = "mr@exemple.fr"})->items[0].id;
  clock_.advance(60'000);
  auto self = svc.update(id, svc.get(id)->version,
                         customers::CustomerInput{.consents = std::vector<customers::Consent>{
                                                      {customers::Channel::kEmail, customers::Purpose::kNewsletter, true, "questionnaire", 0}}},
                         actor_);
  ASSERT_TRUE(self) << self.error().message;
  shop("m3", "non");
  EXPECT_TRUE(granted());
  // The shop then says "oui" (it learnt of it), and later "non": that is a new decision.
  shop("m4", "oui");
  EXPECT_TRUE(granted());
  shop("m5", "non");
  EXPECT_FALSE(granted());
}

TEST_P(ImportTest, AMarketingToolsOptOutUnsubscribesAKnownCustomer) {
  Importer importer(*t_.db, clock_);
  customers::CustomerService svc(*t_.db, clock_);
  auto shop = importer.run({.path = write_temp(GetParam() + "_o1.csv",
                                               "id;Nom;Prénom;E-mail;Newsletter\r\nB7;LEROY;Eva;eva@exemple.fr;oui\r\n"),
                            .source = "boutique"},
                           actor_);
  ASSERT_TRUE(shop) << shop.error().message;
  auto eva = svc.list({.q = "eva@exemple.fr"})->items[0];
  ASSERT_TRUE(eva.consents[0].granted);
  // Brevo's export: she opted in there once, and is blacklisted since.
  clock_.advance(60'000);
  auto brevo = importer.run({.path = write_temp(GetParam() + "_o2.csv",
                                                "EMAIL;OPT_IN;EMAIL_BLACKLISTED\r\neva@exemple.fr;Yes;Yes\r\n"),
                             .source = "brevo"},
                            actor_);
  ASSERT_TRUE(brevo) << brevo.error().message;
  EXPECT_EQ(brevo->updated, 1);
  auto now = svc.get(eva.id);
  ASSERT_TRUE(now);
  for (const auto& c : now->consents)
    if (c.channel == customers::Channel::kEmail && c.purpose == customers::Purpose::kNewsletter) {
      EXPECT_FALSE(c.granted);
      EXPECT_EQ(c.source, "brevo");
    }
  // The shop's nightly file still says "oui": no import gives it back.
  clock_.advance(60'000);
  auto again = importer.run({.path = write_temp(GetParam() + "_o3.csv",
                                                "id;Nom;Prénom;E-mail;Newsletter\r\nB7;LEROY;Eva;eva@exemple.fr;oui\r\n\r\n"),
                             .source = "boutique"},
                            actor_);
  ASSERT_TRUE(again) << again.error().message;
  auto after = svc.get(eva.id);  // kept: a loop over a temporary's member would outlive it
  ASSERT_TRUE(after);
  for (const auto& c : after->consents) {
    if (c.channel == customers::Channel::kEmail && c.purpose == customers::Purpose::kNewsletter) {
      EXPECT_FALSE(c.granted);
    }
  }
}

// The e-mail newsletter consent of the customer an e-mail finds, if any.
std::optional<customers::Consent> newsletter_consent(customers::CustomerService& svc, const std::string& email) {
  auto page = svc.list({.q = email});
  if (!page || page->items.empty()) return std::nullopt;
  for (const auto& c : page->items[0].consents)
    if (c.channel == customers::Channel::kEmail && c.purpose == customers::Purpose::kNewsletter) return c;
  return std::nullopt;
}

// The date a file gives a consent decision (an opt-out's date, a consent date column) is kept as
// when the person decided, beside when the import recorded it.
TEST_P(ImportTest, ConsentDatesFromTheFileAreKept) {
  Importer importer(*t_.db, clock_);
  customers::CustomerService svc(*t_.db, clock_);
  auto newsletter = [&](const std::string& email) { return newsletter_consent(svc, email); };
  // Mailchimp: the confirmation of a double opt-in dates the consent, though OPTIN_TIME comes first.
  auto mailchimp = importer.run(
      {.path = write_temp(GetParam() + "_d1.csv",
                          "Email Address,First Name,Last Name,Newsletter,OPTIN_TIME,CONFIRM_TIME\r\n"
                          "ana@exemple.fr,Ana,Roux,yes,2023-05-04 10:11:12,2023-05-05T08:00:00Z\r\n"
                          "bea@exemple.fr,Bea,Roux,yes,04/05/2023,\r\n"
                          "cid@exemple.fr,Cid,Roux,yes,2099-01-01,\r\n"
                          "dan@exemple.fr,Dan,Roux,yes,soon,\r\n"
                          "eve@exemple.fr,Eve,Roux,no,2023-05-04,\r\n"),
       .source = "mailchimp"},
      actor_);
  ASSERT_TRUE(mailchimp) << mailchimp.error().message;
  EXPECT_EQ(mailchimp->accepted, 5);
  auto eve = newsletter("eve@exemple.fr");  // a "no" is not dated by an opt-in date
  ASSERT_TRUE(eve && !eve->granted);
  EXPECT_FALSE(eve->source_at);
  auto ana = newsletter("ana@exemple.fr");
  ASSERT_TRUE(ana && ana->granted);
  EXPECT_EQ(ana->source_at, parse_iso8601("2023-05-05T08:00:00Z", "t").value());
  EXPECT_EQ(ana->changed_at, clock_.now());  // recorded now
  auto bea = newsletter("bea@exemple.fr");  // an empty CONFIRM_TIME: OPTIN_TIME, a day at midnight UTC
  ASSERT_TRUE(bea);
  EXPECT_EQ(bea->source_at, parse_iso8601("2023-05-04", "t").value());
  // A date in the future, or no date: the consent without a date, and a flag naming the column.
  for (const char* who : {"cid@exemple.fr", "dan@exemple.fr"}) {
    auto k = newsletter(who);
    ASSERT_TRUE(k && k->granted) << who;
    EXPECT_FALSE(k->source_at) << who;
    auto id = svc.list({.q = who})->items[0].id;
    auto flags = svc.flags(id);
    ASSERT_TRUE(flags);
    EXPECT_TRUE(std::any_of(flags->begin(), flags->end(), [](const customers::QualityFlag& f) {
      return f.field == "consent_at:email:newsletter";
    })) << who;
  }
  // Brevo, later: a blacklisting date dates the withdrawal (newsletter and offers), and the history
  // keeps both times.
  clock_.advance(86'400'000);
  auto brevo = importer.run({.path = write_temp(GetParam() + "_d2.csv",
                                                "EMAIL;OPT_IN;EMAIL_BLACKLISTED\r\n"
                                                "ana@exemple.fr;Yes;2026-01-01T09:30:00Z\r\n"
                                                "bea@exemple.fr;Yes;Yes\r\n"),
                             .source = "brevo"},
                            actor_);
  ASSERT_TRUE(brevo) << brevo.error().message;
  ana = newsletter("ana@exemple.fr");
  ASSERT_TRUE(ana);
  EXPECT_FALSE(ana->granted);
  EXPECT_EQ(ana->source_at, parse_iso8601("2026-01-01T09:30:00Z", "t").value());
  EXPECT_EQ(ana->changed_at, clock_.now());
  bea = newsletter("bea@exemple.fr");  // a plain yes: withdrawn, undated
  ASSERT_TRUE(bea);
  EXPECT_FALSE(bea->granted);
  EXPECT_FALSE(bea->source_at);
  auto ana_id = svc.list({.q = "ana@exemple.fr"})->items[0].id;
  auto history = svc.consent_history(ana_id);
  ASSERT_TRUE(history);
  int dated_withdrawals = 0;
  for (const auto& e : *history)
    if (!e.granted && e.source == "brevo") {
      ++dated_withdrawals;
      EXPECT_EQ(e.source_at, parse_iso8601("2026-01-01T09:30:00Z", "t").value());
      EXPECT_EQ(e.at, clock_.now());
    }
  EXPECT_EQ(dated_withdrawals, 2);  // newsletter and offers
  // A mapping names the consents a date column dates; an unknown channel is refused by name.
  clock_.advance(60'000);
  auto mapped = importer.run({.path = write_temp(GetParam() + "_d3.csv",
                                                 "mail;sms ok;quand\r\neli@exemple.fr;oui;12/03/2025\r\n"),
                              .source = "caisse",
                              .mapping = {{"mail", "email"}, {"sms ok", "consent:sms:offers"}, {"quand", "consent_at:sms"}}},
                             actor_);
  ASSERT_TRUE(mapped) << mapped.error().message;
  auto eli = svc.list({.q = "eli@exemple.fr"});
  ASSERT_TRUE(eli && !eli->items.empty());
  ASSERT_EQ(eli->items[0].consents.size(), 1u);
  EXPECT_EQ(eli->items[0].consents[0].source_at, parse_iso8601("2025-03-12", "t").value());
  auto bad = importer.run({.path = write_temp(GetParam() + "_d4.csv", "mail;quand\r\nfay@exemple.fr;12/03/2025\r\n"),
                           .source = "caisse",
                           .mapping = {{"mail", "email"}, {"quand", "consent_at:fax"}}},
                          actor_);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "mapping.quand");
}

// Decisions a file dates are weighed against the customer's by date: an opt-out older than the
// consent the customer gave does not undo it, and a consent dated after the withdrawal is given
// back; a decision no one dated keeps the cautious rules.
TEST_P(ImportTest, ADatedDecisionIsWeighedAgainstTheCustomersByItsDate) {
  Importer importer(*t_.db, clock_);
  customers::CustomerService svc(*t_.db, clock_);
  auto newsletter = [&](const std::string& email) { return newsletter_consent(svc, email); };
  auto flag_of = [&](const std::string& email) -> std::optional<customers::QualityFlag> {
    auto flags = svc.flags(svc.list({.q = email})->items[0].id);
    if (!flags) return std::nullopt;
    for (const auto& f : *flags)
      if (f.field == "consent:email:newsletter") return f;
    return std::nullopt;
  };
  // Gil confirmed his subscription in 2025; Hal's "yes" is undated. Ivy subscribed on the web form.
  auto mailchimp = importer.run({.path = write_temp(GetParam() + "_w1.csv",
                                                    "Email Address,First Name,Last Name,Newsletter,CONFIRM_TIME\r\n"
                                                    "gil@exemple.fr,Gil,Roux,yes,2025-06-01\r\n"
                                                    "hal@exemple.fr,Hal,Roux,yes,\r\n"),
                                 .source = "mailchimp"},
                                actor_);
  ASSERT_TRUE(mailchimp) << mailchimp.error().message;
  auto ivy = svc.create(customers::CustomerInput{.first_name = "Ivy", .last_name = "Roux",
                                                 .emails = std::vector<customers::EmailAddress>{{.email = "ivy@exemple.fr"}},
                                                 .consents = std::vector<customers::Consent>{
                                                     {customers::Channel::kEmail, customers::Purpose::kNewsletter, true, "web-form", 0}}},
                        actor_);
  ASSERT_TRUE(ivy) << ivy.error().message;
  // Brevo's export: the three were blacklisted there in March 2024.
  clock_.advance(86'400'000);
  const std::string blacklisted = write_temp(GetParam() + "_w2.csv",
                                             "EMAIL;EMAIL_BLACKLISTED\r\n"
                                             "gil@exemple.fr;2024-03-01T10:00:00Z\r\n"
                                             "hal@exemple.fr;2024-03-01T10:00:00Z\r\n"
                                             "ivy@exemple.fr;2024-03-01T10:00:00Z\r\n");
  auto dry = importer.preview({.path = blacklisted, .source = "brevo"});  // the dry run says so first
  ASSERT_TRUE(dry) << dry.error().message;
  ASSERT_EQ(dry->rows.size(), 3u);
  for (size_t i : {0u, 2u})
    EXPECT_TRUE(std::any_of(dry->rows[i].flags.begin(), dry->rows[i].flags.end(), [](const Flag& f) {
      return f.field == "consent:email:newsletter" && f.value == "no";
    })) << i;
  EXPECT_TRUE(dry->rows[1].flags.empty());
  auto gone = importer.run({.path = blacklisted, .source = "brevo"}, actor_);
  ASSERT_TRUE(gone) << gone.error().message;
  for (const char* who : {"gil@exemple.fr", "ivy@exemple.fr"}) {  // they said yes after: it stays
    auto k = newsletter(who);
    ASSERT_TRUE(k) << who;
    EXPECT_TRUE(k->granted) << who;
    auto f = flag_of(who);
    ASSERT_TRUE(f) << who;
    EXPECT_EQ(f->value, "no");
    EXPECT_NE(f->reason.find("withdrawn on 2024-03-01, before the consent given on"), std::string::npos) << f->reason;
  }
  EXPECT_NE(flag_of("gil@exemple.fr")->reason.find("2025-06-01 (mailchimp)"), std::string::npos);
  auto hal = newsletter("hal@exemple.fr");  // when Hal said yes, no one knows: the opt-out applies
  ASSERT_TRUE(hal);
  EXPECT_FALSE(hal->granted);
  EXPECT_FALSE(flag_of("hal@exemple.fr"));
  // Hal subscribes again, the confirmation dated after his opt-out: given back. Jo's opt-out is
  // undated: a dated subscription cannot be shown later, and is refused.
  clock_.advance(60'000);
  ASSERT_TRUE(importer.run({.path = write_temp(GetParam() + "_w3.csv", "EMAIL;EMAIL_BLACKLISTED\r\njo@exemple.fr;Yes\r\n"),
                            .source = "brevo"},
                           actor_));
  clock_.advance(60'000);
  auto back = importer.run({.path = write_temp(GetParam() + "_w4.csv",
                                               "Email Address,Newsletter,CONFIRM_TIME\r\n"
                                               "hal@exemple.fr,yes,2025-09-01\r\n"
                                               "jo@exemple.fr,yes,2025-09-01\r\n"),
                            .source = "mailchimp"},
                           actor_);
  ASSERT_TRUE(back) << back.error().message;
  hal = newsletter("hal@exemple.fr");
  ASSERT_TRUE(hal);
  EXPECT_TRUE(hal->granted);
  EXPECT_EQ(hal->source, "mailchimp");
  EXPECT_EQ(hal->source_at, parse_iso8601("2025-09-01", "t").value());
  auto jo = newsletter("jo@exemple.fr");
  ASSERT_TRUE(jo);
  EXPECT_FALSE(jo->granted);
  auto f = flag_of("jo@exemple.fr");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->value, "yes");
  EXPECT_NE(f->reason.find("does not give a withdrawn consent back unless it dates it after the withdrawal"), std::string::npos)
      << f->reason;
}

TEST_P(ImportTest, AnUnexpectedErrorFailsItsImportNotTheServer) {
  ImportRunner runner(*t_.db, clock_);
  Importer importer(*t_.db, clock_);
  const std::string csv = "Nom;Prénom;E-mail\r\nDupont;Jean;jean@exemple.fr\r\n";
  ImportOptions o{.path = write_temp(GetParam() + "_throws.csv", csv), .source = "boutique"};
  o.progress = [](const ImportStatus&) { throw std::runtime_error("unforeseen"); };
  auto id = runner.start(o, actor_);
  ASSERT_TRUE(id) << id.error().message;
  std::optional<ImportStatus> st;
  for (int i = 0; i < 500; ++i) {
    auto s = importer.status(*id);
    if (s && s->status != "running" && s->status != "queued") {
      st = *s;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(st);
  EXPECT_EQ(st->status, "failed");
  ASSERT_TRUE(st->error);
  EXPECT_NE(st->error->find("unforeseen"), std::string::npos) << *st->error;
  // The runner goes on: the next import runs.
  auto next = runner.start({.path = write_temp(GetParam() + "_after.csv", csv + "Martin;Anne;anne@exemple.fr\r\n"),
                            .source = "boutique"},
                           actor_);
  ASSERT_TRUE(next) << next.error().message;
  std::string status;
  for (int i = 0; i < 500 && status != "done"; ++i) {
    if (auto s = importer.status(*next)) status = s->status;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(status, "done");
}

// A number typed for "no number" is kept as given, flagged, and ties no one together: two namesakes
// who share 06 00 00 00 00 stay two customers, where a real shared mobile makes them one.
TEST_P(ImportTest, APlaceholderPhoneIsFlaggedAndMatchesNoOne) {
  Importer importer(*t_.db, clock_);
  const std::string head = "Nom;Prénom;Portable;Code postal;Ville\r\n";
  auto placeholder = importer.run({.path = write_temp(GetParam() + "_ph1.csv",
                                                      head + "MARTIN;Jean;06 00 00 00 00;75011;Paris\r\n"
                                                             "MARTIN;Jean;06 00 00 00 00;13001;Marseille\r\n"
                                                             ";;06 12 34 56 78;;\r\n"),
                                   .source = "caisse"},
                                  actor_);
  ASSERT_TRUE(placeholder) << placeholder.error().message;
  EXPECT_EQ(placeholder->accepted, 2);
  EXPECT_EQ(placeholder->merged + placeholder->queued, 0);
  EXPECT_EQ(placeholder->rejected, 1);  // a placeholder alone makes no customer
  auto flags = t_.db->query("SELECT value, reason FROM customer_flags WHERE field = 'phone'");
  ASSERT_TRUE(flags);
  ASSERT_EQ(flags->rows.size(), 2u);
  EXPECT_EQ(flags->rows[0].str(0), "06 00 00 00 00");
  EXPECT_EQ(flags->rows[0].str(1), customers::kPlaceholderPhoneReason);
  auto kept = t_.db->one("SELECT COUNT(*) FROM customer_phones WHERE raw = '06 00 00 00 00' AND e164 IS NULL AND valid = 0");
  ASSERT_TRUE(kept && *kept);
  EXPECT_EQ((*kept)->i64(0), 2);
  // The same two rows with a real mobile: one person who moved.
  auto real = importer.run({.path = write_temp(GetParam() + "_ph2.csv",
                                               head + "DURAND;Paul;06 47 21 93 58;75011;Paris\r\n"
                                                      "DURAND;Paul;06 47 21 93 58;13001;Marseille\r\n"),
                            .source = "caisse"},
                           actor_);
  ASSERT_TRUE(real) << real.error().message;
  EXPECT_EQ(real->merged + real->queued, 1);
}

TEST_P(ImportTest, AnSmsColumnIsAPhoneWhenItHoldsNumbers) {
  Importer importer(*t_.db, clock_);
  // Brevo: "SMS" is the contact's mobile, written with its country code and no "+".
  auto brevo = importer.preview({.path = write_temp(GetParam() + "_sms1.csv",
                                                    "EMAIL;NOM;PRENOM;SMS\r\njean@exemple.fr;DUPONT;Jean;33612345687\r\n"
                                                    "anne@exemple.fr;MARTIN;Anne;\r\n"),
                                 .source = "brevo"});
  ASSERT_TRUE(brevo) << brevo.error().message;
  EXPECT_EQ(brevo->columns[3].target, Target::kPhone);
  ASSERT_TRUE(brevo->rows[0].customer && brevo->rows[0].customer->phones);
  EXPECT_EQ((*brevo->rows[0].customer->phones)[0].e164, "+33612345687");
  // A shop's "SMS" column of oui/non: not read, no invalid phone made of it.
  auto shop = importer.preview({.path = write_temp(GetParam() + "_sms2.csv",
                                                   "E-mail;Nom;SMS\r\na@exemple.fr;Durand;oui\r\nb@exemple.fr;Roux;non\r\n"),
                                .source = "boutique"});
  ASSERT_TRUE(shop) << shop.error().message;
  EXPECT_EQ(shop->columns[2].target, Target::kIgnore);
  EXPECT_TRUE(!shop->rows[0].customer->phones || shop->rows[0].customer->phones->empty());
  EXPECT_TRUE(shop->rows[0].flags.empty());
}

TEST_P(ImportTest, ARowWithoutIdsThatIsACustomerAsItIsChangesNothing) {
  Importer importer(*t_.db, clock_);
  const std::string csv = "Nom;Prénom;E-mail;Ville\r\nHenry;Élodie;elodie.henry@exemple.fr;Ribeauvillé\r\n";
  ASSERT_TRUE(importer.run({.path = write_temp(GetParam() + "_h1.csv", csv), .source = "listing"}, actor_));
  auto events = [&] { return (*t_.db->one("SELECT COUNT(*) FROM outbox_events"))->i64(0); };
  const int64_t before = events();
  for (int night = 2; night <= 3; ++night) {
    auto again = importer.run({.path = write_temp(GetParam() + "_h" + std::to_string(night) + ".csv", csv + std::string(night, '\n')),
                               .source = "listing"},
                              actor_);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(again->unchanged, 1);
    EXPECT_EQ(again->accepted + again->merged, 0);
  }
  EXPECT_EQ(events(), before);  // no record, no merge, no version
  EXPECT_EQ((*t_.db->one("SELECT COUNT(*) FROM customers"))->i64(0), 1);
  EXPECT_EQ((*t_.db->one("SELECT COUNT(*) FROM customer_merges"))->i64(0), 0);
  // A row that brings something new still goes through a recorded merge.
  auto news = importer.run({.path = write_temp(GetParam() + "_h4.csv",
                                               "Nom;Prénom;E-mail;Ville;Téléphone\r\nHenry;Élodie;elodie.henry@exemple.fr;Ribeauvillé;06 12 34 56 87\r\n"),
                            .source = "listing"},
                           actor_);
  ASSERT_TRUE(news);
  EXPECT_EQ(news->merged, 1);
}

TEST_P(ImportTest, WithoutDedupTheSourcesOwnIdStillUpdatesItsCustomer) {
  Importer importer(*t_.db, clock_);
  const std::string csv = "id;Nom;Pr\xE9nom;E-mail;T\xE9l\xE9phone\r\nC1;Dupont;Jeanne;jeanne@exemple.fr;0612345687\r\n";
  auto first = importer.run({.path = write_temp(GetParam() + "_n1.csv", csv), .source = "boutique", .dedup = false}, actor_);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->accepted, 1);
  auto second = importer.run(
      {.path = write_temp(GetParam() + "_n2.csv", csv + "C2;Durand;Paul;paul@exemple.fr;\r\n"), .source = "boutique", .dedup = false},
      actor_);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->accepted, 1);   // Paul
  EXPECT_EQ(second->unchanged, 1);  // Jeanne, by her id: no copy stripped of its e-mail and id
  EXPECT_EQ(second->flagged, 0);
  customers::CustomerService svc(*t_.db, clock_);
  EXPECT_EQ(svc.list({.limit = 100})->items.size(), 2u);
  // Jeanne's new number by her id: an update, counted as such, not as a merge.
  const std::string moved = "id;Nom;Pr\xE9nom;E-mail;T\xE9l\xE9phone\r\nC1;Dupont;Jeanne;jeanne@exemple.fr;0699887766\r\n";
  auto third = importer.run({.path = write_temp(GetParam() + "_n3.csv", moved), .source = "boutique"}, actor_);
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_EQ(third->updated, 1);
  EXPECT_EQ(third->merged, 0);
  EXPECT_EQ(third->accepted, 0);
  EXPECT_EQ(svc.list({.limit = 100})->items.size(), 2u);
}

TEST_P(ImportTest, ARowOfADeletedCustomerIsRejectedAndTheRestImported) {
  Importer importer(*t_.db, clock_);
  auto first = importer.run({.path = write_temp(GetParam() + "_k1.csv", "id;prenom;nom;email\nK1;Marc;Lambert;marc.lambert@orange.fr\n"),
                             .source = "inf"},
                            actor_);
  ASSERT_TRUE(first) << first.error().message;
  customers::CustomerService svc(*t_.db, clock_);
  auto marc = svc.list({.q = "marc.lambert@"});
  ASSERT_EQ(marc->items.size(), 1u);
  ASSERT_TRUE(svc.remove(marc->items[0].id, std::nullopt, actor_));
  auto again = importer.run({.path = write_temp(GetParam() + "_k2.csv",
                                                "id;prenom;nom;email\nZ1;Alain;Avant;alain.avant@orange.fr\n"
                                                "K1;Marc;Lambert;marc.lambert@orange.fr\nZ2;Alice;Apres;alice.apres@free.fr\n"),
                             .source = "inf"},
                            actor_);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->status, "done");
  EXPECT_EQ(again->accepted, 2);
  EXPECT_EQ(again->rejected, 1);
  auto rejects = importer.rejects_csv(again->id);
  ASSERT_TRUE(rejects);
  EXPECT_NE(rejects->find(fmt::format("3,id,\"id 'K1' belongs to customer {}, which was deleted", marc->items[0].id)),
            std::string::npos)
      << *rejects;
  EXPECT_NE(rejects->find("K1;Marc;Lambert;marc.lambert@orange.fr"), std::string::npos) << *rejects;  // its text
  EXPECT_EQ(svc.list({.q = "marc.lambert@"})->items.size(), 0u);  // not brought back
}

TEST_P(ImportTest, KilledImportResumesWithoutStoringARowTwice) {
  std::string csv = "email;nom\n";
  for (int i = 0; i < 250; ++i) csv += "client" + std::to_string(i) + "@exemple.fr;Nom" + std::to_string(i) + "\n";
  auto path = write_temp(GetParam() + "_big.csv", csv);
  Importer importer(*t_.db, clock_);
  auto first = importer.run({.path = path, .source = "crm", .batch_rows = 40, .stop_after_batches = 3}, actor_);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->status, "interrupted");
  EXPECT_EQ(first->rows_read, 120);
  int64_t calls = 0;
  auto second = importer.run({.path = path, .source = "crm", .batch_rows = 40,
                              .progress = [&](const ImportStatus& s) { ++calls; EXPECT_GT(s.bytes_done, 0); }},
                             actor_);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_TRUE(second->resumed);
  EXPECT_EQ(second->id, first->id);
  EXPECT_EQ(second->status, "done");
  EXPECT_EQ(second->rows_read, 250);
  EXPECT_EQ(second->accepted, 250);
  EXPECT_EQ(calls, 4);  // 130 rows left in batches of 40
  auto count = t_.db->one("SELECT COUNT(*) FROM customers");
  EXPECT_EQ((*count)->i64(0), 250);
  auto dup = t_.db->one("SELECT COUNT(*) FROM (SELECT email_key FROM customer_emails GROUP BY email_key HAVING COUNT(*) > 1) d");
  EXPECT_EQ((*dup)->i64(0), 0);
}

// Records of empty cells are skipped, not rejected; an import stopped on one (by a version that
// still counted them) resumes at the record after it.
TEST_P(ImportTest, RecordsOfEmptyCellsAreSkippedAndResumedPast) {
  const std::string path = write_temp(GetParam() + "_empty_cells.csv",
                                      "email;nom\na1@exemple.fr;Un\na2@exemple.fr;Deux\n;\n;\na5@exemple.fr;Cinq\n"
                                      "a6@exemple.fr;Six\n");
  Importer importer(*t_.db, clock_);
  auto first = importer.run({.path = path, .source = "cells", .batch_rows = 2, .stop_after_batches = 1}, actor_);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->status, "interrupted");
  storage::Value up[] = {first->id};
  ASSERT_TRUE(t_.db->exec("UPDATE imports SET records_done = 4 WHERE id = $1", up));  // record 4 is ";"
  auto second = importer.run({.path = path, .source = "cells", .batch_rows = 2}, actor_);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->status, "done");
  EXPECT_EQ(second->rejected, 0);
  auto count = t_.db->one("SELECT COUNT(*) FROM customers");
  EXPECT_EQ((*count)->i64(0), 4);
}

// A file replaced at the same path after its import stopped is not resumed into: the stopped import
// fails saying why (resuming would skip the new file's first records as if imported), whether the
// server resumes it by id or the file is imported again, and the new file is read whole.
TEST_P(ImportTest, AReplacedFileIsNotResumedInto) {
  auto numbered = [](const std::string& prefix, int n) {
    std::string csv = "email;nom\n";
    for (int i = 0; i < n; ++i) csv += prefix + std::to_string(i) + "@exemple.fr;Nom" + std::to_string(i) + "\n";
    return csv;
  };
  const std::string path = write_temp(GetParam() + "_nightly.csv", numbered("hier", 200));
  Importer importer(*t_.db, clock_);
  auto first = importer.run({.path = path, .source = "nightly", .batch_rows = 40, .stop_after_batches = 2}, actor_);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->status, "interrupted");
  write_temp(GetParam() + "_nightly.csv", numbered("auj", 150));
  // The server resuming the stopped import by its id.
  auto resumed = importer.run({.path = path, .source = "nightly", .batch_rows = 40, .import_id = first->id}, actor_);
  ASSERT_FALSE(resumed);
  EXPECT_EQ(resumed.error().field, "file");
  EXPECT_NE(resumed.error().message.find("80 records of the earlier file were imported"), std::string::npos)
      << resumed.error().message;
  auto failed = importer.status(first->id);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, "failed");
  EXPECT_EQ(failed->error, resumed.error().message);
  auto count = t_.db->one("SELECT COUNT(*) FROM customers");
  EXPECT_EQ((*count)->i64(0), 80);
  // Imported again: a new import, read from its first record.
  auto again = importer.run({.path = path, .source = "nightly", .batch_rows = 40}, actor_);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_NE(again->id, first->id);
  EXPECT_FALSE(again->resumed);
  EXPECT_EQ(again->accepted, 150);

  // Stopped again, then replaced, then imported by the CLI: the stopped import is marked failed.
  const std::string other = write_temp(GetParam() + "_weekly.csv", numbered("sem", 200));
  auto stopped = importer.run({.path = other, .source = "nightly", .batch_rows = 40, .stop_after_batches = 1}, actor_);
  ASSERT_TRUE(stopped) << stopped.error().message;
  write_temp(GetParam() + "_weekly.csv", numbered("mois", 60));
  auto fresh = importer.run({.path = other, .source = "nightly", .batch_rows = 40}, actor_);
  ASSERT_TRUE(fresh) << fresh.error().message;
  EXPECT_EQ(fresh->accepted, 60);
  auto old = importer.status(stopped->id);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->status, "failed");
  EXPECT_NE(old->error.value_or("").find("40 records of the earlier file"), std::string::npos) << old->error.value_or("");
}

// Two rows of one file for one person merge alike whatever batches store them, and however long
// the import takes: the rows of a file are of one time, so the first row's values stay and the
// second only fills the gaps.
TEST_P(ImportTest, RowsOfOneFileMergeAlikeWhateverTheirBatches) {
  auto path = write_temp(GetParam() + "_one_time.csv",
                         "Nom;Pr\xC3\xA9nom;Email;Ville\nDUPONT;Emma;emma.dupont@exemple.fr;\n"
                         "MARTIN;Paul;paul.martin@exemple.fr;Lyon\nDUPONT;Emmx;emma.dupont@exemple.fr;Paris\n");
  Importer importer(*t_.db, clock_);
  auto st = importer.run({.path = path, .source = "shop", .batch_rows = 1,
                          .progress = [&](const ImportStatus&) { clock_.advance(60'000); }},
                         actor_);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->merged, 1);
  customers::CustomerService svc(*t_.db, clock_);
  auto found = svc.list({.q = "emma.dupont@exemple.fr"});
  ASSERT_TRUE(found);
  ASSERT_EQ(found->items.size(), 1u);
  EXPECT_EQ(found->items[0].first_name, "Emma");
  EXPECT_EQ(found->items[0].address.city, "Paris");
}

// A row's address written otherwise than a customer's (a "+tag", Gmail's dots) finds that
// customer, row by row and in a bulk load alike.
TEST_P(ImportTest, ARowFindsTheCustomerOfTheSameMailbox) {
  for (BulkMode mode : {BulkMode::kOff, BulkMode::kOn}) {
    if (mode == BulkMode::kOn && GetParam() != "sqlite") continue;  // PostgreSQL keeps its indexes
    const std::string tag = mode == BulkMode::kOn ? "bulk" : "rows";
    auto path = write_temp(GetParam() + "_mailbox_" + tag + ".csv",
                           "Nom;Pr\xC3\xA9nom;Email\nLE GOFF;Marie;marie.legoff." + tag + "@gmail.com\n"
                           "MARTIN;Paul;paul.martin." + tag + "@orange.fr\n"
                           "Le Goff;Marie;Marie.LeGoff." + tag + "+boutique@gmail.com\n"
                           "Martin;Paul;paul.martin." + tag + "+news@orange.fr\n");
    Importer importer(*t_.db, clock_);
    auto st = importer.run({.path = path, .source = "shop-" + tag, .bulk = mode}, actor_);
    ASSERT_TRUE(st) << st.error().message;
    EXPECT_EQ(st->accepted, 2) << tag;
    EXPECT_EQ(st->merged, 2) << tag;
  }
}

// A nightly file from a system that writes without accents does not rewrite "Hélène Bérubé, 4 rue
// Émile Zola" as "Helene Berube, 4 RUE EMILE ZOLA"; a real change still applies.
TEST_P(ImportTest, AFileWithoutAccentsLeavesTheCarefulWritingOfTheSameValues) {
  const std::string header = "N\xC2\xB0 client;Pr\xC3\xA9nom;Nom;Adresse;Code postal;Ville\n";
  Importer importer(*t_.db, clock_);
  auto first = importer.run({.path = write_temp(GetParam() + "_care1.csv",
                                                header + "E1;H\xC3\xA9l\xC3\xA8ne;B\xC3\xA9rub\xC3\xA9;"
                                                         "4 rue \xC3\x89mile Zola;69003;Lyon\n"
                                                         "E2;Paul;MacDonald;8 rue de la Paix;75002;Paris\n"),
                             .source = "boutique"},
                            actor_);
  ASSERT_TRUE(first) << first.error().message;
  clock_.advance(60'000);
  const std::string nightly_file = write_temp(GetParam() + "_care2.csv", header + "E1;HELENE;BERUBE;4 RUE EMILE ZOLA;69003;LYON\n"
                                                                                   "E2;PAUL;MACDONALD;8 RUE DE LA PAIX;75002;PARIS\n");
  auto dry = importer.preview({.path = nightly_file, .source = "boutique"}, 10);  // says so first
  ASSERT_TRUE(dry) << dry.error().message;
  ASSERT_EQ(dry->rows.size(), 2u);
  for (const PreviewRow& r : dry->rows) {
    ASSERT_TRUE(r.match);
    EXPECT_EQ(r.match->outcome, "update");
    EXPECT_EQ(r.match->changes, false);
  }
  auto nightly = importer.run({.path = nightly_file, .source = "boutique"}, actor_);
  ASSERT_TRUE(nightly) << nightly.error().message;
  EXPECT_EQ(nightly->unchanged, 2);  // no accents to lose in "MacDonald, 8 rue de la Paix": its case
  customers::CustomerService svc(*t_.db, clock_);
  auto c = svc.get(1);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->first_name, "Hélène");
  EXPECT_EQ(c->last_name, "Bérubé");
  EXPECT_EQ(c->address.street, "4 rue Émile Zola");
  EXPECT_EQ(c->address.city, "Lyon");
  auto mc = svc.get(2);
  ASSERT_TRUE(mc);
  EXPECT_EQ(mc->last_name, "MacDonald");
  EXPECT_EQ(mc->address.street, "8 rue de la Paix");
  clock_.advance(60'000);
  auto moved = importer.run({.path = write_temp(GetParam() + "_care3.csv", header + "E1;HELENE;BERUBE;9 RUE PAUL BERT;69003;LYON\n"),
                             .source = "boutique"},
                            actor_);
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(moved->updated, 1);
  c = svc.get(1);
  EXPECT_EQ(c->first_name, "Hélène");
  EXPECT_EQ(c->address.street, "9 RUE PAUL BERT");
}

// A source that may only fill gaps (a customer a higher source also knows) still restores the
// accents an old system left off the same name and address part ("HELENE BERUBE, 4 RUE EMILE
// ZOLA" becomes "Hélène Bérubé, 4 rue Émile Zola"; its "LYON" leaves "Lyon"), but not those of what
// people typed: "Zoe" entered in the back office is their correction.
TEST_P(ImportTest, ALowerSourceRestoresTheAccentsAFileLeftOffButNotWhatPeopleTyped) {
  const std::string header = "N\xC2\xB0 client;E-mail;T\xC3\xA9l\xC3\xA9phone;Pr\xC3\xA9nom;Nom;Adresse;Code postal;Ville\n";
  Importer importer(*t_.db, clock_);
  auto crm = importer.run({.path = write_temp(GetParam() + "_accents1.csv",
                                              header + "C1;helene.berube@exemple.fr;;HELENE;BERUBE;4 RUE EMILE ZOLA;69003;Lyon\n"),
                           .source = "crm", .source_priority = 90},
                          actor_);
  ASSERT_TRUE(crm) << crm.error().message;
  // The till knows her too, with her mobile: its record is merged into her, its id with it.
  clock_.advance(60'000);
  auto till = importer.run({.path = write_temp(GetParam() + "_accents2.csv",
                                               header + "E1;helene.berube@exemple.fr;06 44 15 58 11;HELENE;BERUBE;4 RUE EMILE ZOLA;69003;LYON\n"),
                            .source = "caisse", .source_priority = 80},
                           actor_);
  ASSERT_TRUE(till) << till.error().message;
  ASSERT_EQ(till->merged, 1);
  customers::CustomerService svc(*t_.db, clock_);
  customers::CustomerInput typed;
  typed.first_name = "Zoe";
  typed.last_name = "Lefevre";
  typed.external_ids = std::vector<customers::ExternalId>{{"caisse", "E2"}};
  auto person = svc.create(typed, actor_);
  ASSERT_TRUE(person) << person.error().message;
  clock_.advance(60'000);
  const std::string new_till = write_temp(GetParam() + "_accents3.csv",
                                          header + "E1;;;H\xC3\xA9l\xC3\xA8ne;B\xC3\xA9rub\xC3\xA9;4 rue \xC3\x89mile Zola;69003;LYON\n"
                                                   "E2;;;Zo\xC3\xA9;Lef\xC3\xA8vre;;;\n");
  auto dry = importer.preview({.path = new_till, .source = "caisse"}, 10);  // says so first
  ASSERT_TRUE(dry) << dry.error().message;
  ASSERT_EQ(dry->rows.size(), 2u);
  ASSERT_TRUE(dry->rows[0].match && dry->rows[1].match);
  EXPECT_EQ(dry->rows[0].match->outcome, "update");
  EXPECT_EQ(dry->rows[0].match->changes, true);
  EXPECT_EQ(dry->rows[1].match->outcome, "update");
  EXPECT_EQ(dry->rows[1].match->changes, false);
  auto again = importer.run({.path = new_till, .source = "caisse"}, actor_);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->updated, 1);
  EXPECT_EQ(again->unchanged, 1);
  auto c = svc.get(1);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->first_name, "Hélène");
  EXPECT_EQ(c->last_name, "Bérubé");
  EXPECT_EQ(c->address.street, "4 rue Émile Zola");
  EXPECT_EQ(c->address.city, "Lyon");
  auto z = svc.get(person->id);
  ASSERT_TRUE(z);
  EXPECT_EQ(z->first_name, "Zoe");
  EXPECT_EQ(z->last_name, "Lefevre");
}

// A JSON Lines export given to the importer is named for what it is, not for its broken quotes.
TEST_P(ImportTest, AJsonLinesFileIsSaidToBeNoCsv) {
  Importer importer(*t_.db, clock_);
  auto r = importer.run({.path = write_temp(GetParam() + "_export.jsonl", "{\"id\":1,\"first_name\":\"Ana\"}\n"
                                                                          "{\"id\":2,\"first_name\":\"Bob\"}\n"),
                         .source = "retour"},
                        actor_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "file");
  EXPECT_NE(r.error().message.find("holds JSON, not CSV"), std::string::npos) << r.error().message;
}

TEST_P(ImportTest, ASecondRunOfAFileBeingImportedIsRefused) {
  std::string csv = "email;nom\n";
  for (int i = 0; i < 100; ++i) csv += "double" + std::to_string(i) + "@exemple.fr;Nom" + std::to_string(i) + "\n";
  auto path = write_temp(GetParam() + "_twice.csv", csv);
  Importer importer(*t_.db, clock_);
  std::optional<Result<ImportStatus>> second;
  auto first = importer.run({.path = path, .source = "crm", .dedup = false, .batch_rows = 40,
                             .on_started = [&](int64_t) {
                               // Another run of the same file for the same source while this one runs.
                               Importer other(*t_.db, clock_);
                               second = other.run({.path = path, .source = "crm", .dedup = false}, actor_);
                             }},
                            actor_);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->accepted, 100);
  ASSERT_TRUE(second.has_value());
  ASSERT_FALSE(*second);
  EXPECT_EQ(second->error().code, Code::kConflict);
  EXPECT_EQ(second->error().field, "file");
  EXPECT_NE(second->error().message.find(fmt::format("import {} of this file", first->id)), std::string::npos)
      << second->error().message;
  EXPECT_EQ((*t_.db->one("SELECT COUNT(*) FROM customers"))->i64(0), 100);
  // A run whose process is gone (killed) is resumed at once.
  storage::Value dead[] = {first->id};
  ASSERT_TRUE(t_.db->exec("UPDATE imports SET status = 'running', worker = 'nowhere-host:1' WHERE id = $1", dead));
  auto stale = t_.db->exec("UPDATE imports SET updated_at = 0 WHERE id = $1", dead);
  ASSERT_TRUE(stale);
  auto resumed = importer.run({.path = path, .source = "crm", .dedup = false}, actor_);
  ASSERT_TRUE(resumed) << resumed.error().message;
  EXPECT_TRUE(resumed->resumed);
  EXPECT_EQ((*t_.db->one("SELECT COUNT(*) FROM customers"))->i64(0), 100);

  // Queued for the server, run meanwhile by the CLI: the server's turn then finds it done.
  auto later = write_temp(GetParam() + "_queued.csv", "email;nom\nfile.attente@exemple.fr;Attente\n");
  auto queued = importer.enqueue({.path = later, .source = "crm", .dedup = false});
  ASSERT_TRUE(queued) << queued.error().message;
  EXPECT_EQ(importer.status(*queued)->status, "queued");
  auto by_cli = importer.run({.path = later, .source = "crm", .dedup = false}, actor_);
  ASSERT_TRUE(by_cli) << by_cli.error().message;
  EXPECT_EQ(by_cli->id, *queued);
  EXPECT_FALSE(by_cli->resumed);
  auto turn = importer.run({.path = later, .source = "crm", .dedup = false, .import_id = *queued}, actor_);
  ASSERT_TRUE(turn) << turn.error().message;
  EXPECT_EQ(turn->status, "done");
  EXPECT_EQ(turn->accepted, 1);
  EXPECT_EQ((*t_.db->one("SELECT COUNT(*) FROM customers"))->i64(0), 101);
}

// A labelled set with duplicates, namesakes and households, as one CSV file.
std::string test_set_csv(uint64_t seed, size_t people) {
  auto set = dedup::generate_test_set({.seed = seed, .people = people});
  EXPECT_TRUE(set);
  std::string csv = "id;first_name;last_name;email;phone;birth_date;street;postcode;city\n";
  for (const auto& r : set->records) {
    std::string fields[] = {fmt::format("R{}", r.id), r.first_name, r.last_name, r.email, r.phone_e164, r.birth_date,
                            r.street, r.postcode, r.city};
    csv += csv_line(fields, ';') + "\n";
  }
  return csv;
}

// Every live customer as the API renders it, in id order.
std::string exported(storage::Db& db) {
  std::string out;
  EXPECT_TRUE(export_customers(db, ExportFormat::kJsonLines, false, [&](std::string_view c) -> Status {
    out += c;
    return ok();
  }));
  return out;
}

int64_t count_of(storage::Db& db, const std::string& sql) {
  auto r = db.one(sql);
  return r && *r ? (*r)->i64(0) : -1;
}

// A bulk load stores, merges and queues exactly what the row-by-row import does, into an empty
// base and into one that already has customers, and gives the indexes back.
TEST(BulkImport, StoresMergesAndQueuesWhatTheIndexedImportDoes) {
  auto first = write_temp("bulk_first.csv", test_set_csv(3, 300));
  auto second = write_temp("bulk_second.csv", test_set_csv(4, 300));
  // Within one import, a merge that mixes two profiles: the row merges into a customer of a
  // higher-priority source, which keeps its name and takes the row's (more recent) address, a pair
  // neither had; the next row of the same file shares only that pair.
  const std::string header = "email;telephone;prenom;nom;adresse;code postal;ville\n";
  std::pair<std::string, int> mixed[] = {
      {write_temp("bulk_mixed_a.csv", header + "jean.dupont@exemple.fr;06 11 22 33 44;Jean;Dupont;3 rue Haute;75011;Paris\n"), 80},
      {write_temp("bulk_mixed_b.csv", header + "jean.dupont@exemple.fr;06 11 22 33 44;Jean;Dupond;8 quai Sud;69002;Lyon\n"
                                               "jdupont@ailleurs.fr;;Jean;Dupont;8 quai Sud;69002;Lyon\n"),
       20}};
  audit::Actor actor = audit::Actor::cli("test");
  std::string results[2];
  for (BulkMode mode : {BulkMode::kOff, BulkMode::kOn}) {
    FakeClock clock;  // the same times in both runs
    auto t = storage::testing::make_test_db("sqlite");
    int64_t indexes = count_of(*t.db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'");
    Importer importer(*t.db, clock);
    std::string summary;
    std::vector<std::pair<std::string, std::string>> files = {{first, "shop"}, {second, "shop"}};
    for (size_t i = 0; i < std::size(mixed); ++i) files.emplace_back(mixed[i].first, std::string(1, static_cast<char>('a' + i)));
    for (const auto& [path, source] : files) {
      std::optional<int> priority;
      for (const auto& m : mixed)
        if (m.first == path) priority = m.second;
      clock.advance(60'000);  // each file more recent than the last
      auto st = importer.run({.path = path, .source = source, .source_priority = priority, .batch_rows = 150, .bulk = mode}, actor);
      ASSERT_TRUE(st) << st.error().message;
      EXPECT_EQ(st->status, "done");
      EXPECT_EQ(st->bulk, mode == BulkMode::kOn);
      summary += fmt::format("{} accepted {} merged {} queued {} rejected {} flagged\n", st->accepted, st->merged,
                             st->queued, st->rejected, st->flagged);
    }
    EXPECT_EQ(count_of(*t.db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'"), indexes);
    EXPECT_EQ(count_of(*t.db, "SELECT COUNT(*) FROM bulk_dropped_indexes"), 0);
    summary += exported(*t.db);
    summary += fmt::format("reviews {}\n", count_of(*t.db, "SELECT COUNT(*) FROM merge_reviews"));
    results[mode == BulkMode::kOn] = summary;
  }
  // Line by line, so a difference shows as one customer rather than the whole base.
  std::istringstream off(results[0]), on(results[1]);
  std::string a, b;
  int line = 0, differences = 0;
  while (true) {
    bool more_a = static_cast<bool>(std::getline(off, a)), more_b = static_cast<bool>(std::getline(on, b));
    if (!more_a && !more_b) break;
    ++line;
    if (a != b && ++differences <= 3) ADD_FAILURE() << "line " << line << "\nrow by row: " << a << "\nbulk:       " << b;
    a.clear();
    b.clear();
  }
  EXPECT_EQ(differences, 0);
  // The first file's duplicates were merged and its doubtful pairs queued, and the third row of the
  // mixed file was found through the merged profile: the comparison is not between two runs that
  // matched nothing.
  EXPECT_EQ(results[0].substr(0, results[0].find('\n')).find(" 0 merged 0 queued"), std::string::npos)
      << results[0].substr(0, 300);
  EXPECT_NE(results[0].find("\n1 accepted 0 merged 0 queued 0 rejected 0 flagged\n0 accepted 2 merged"),
            std::string::npos)
      << results[0].substr(0, 300);
}

// A customer another writer creates between two batches is matched like one already in the base.
TEST(BulkImport, SeesCustomersOtherWritersAddBetweenBatches) {
  std::string csv = "email;nom;prenom\n";
  for (int i = 0; i < 300; ++i)
    csv += fmt::format("client{}@exemple.fr;Nom{}{};Prenom{}\n", i, static_cast<char>('a' + i % 26), i, i);
  auto path = write_temp("bulk_concurrent.csv", csv);
  auto t = storage::testing::make_test_db("sqlite");
  FakeClock clock;
  audit::Actor actor = audit::Actor::cli("test");
  customers::CustomerService svc(*t.db, clock);
  Importer importer(*t.db, clock);
  int batches = 0;
  int64_t other = 0;
  auto st = importer.run({.path = path, .source = "shop", .batch_rows = 100, .bulk = BulkMode::kOn,
                          .progress =
                              [&](const ImportStatus&) {
                                if (++batches != 1) return;
                                customers::CustomerInput in;
                                in.emails = std::vector<customers::EmailAddress>{{"client250@exemple.fr", ""}};
                                in.last_name = "Nomq250";  // row 250: the same person
                                in.first_name = "Prenom250";
                                auto c = svc.create(in, actor);
                                ASSERT_TRUE(c) << c.error().message;
                                other = c->id;
                              }},
                         actor);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_TRUE(st->bulk);
  EXPECT_EQ(st->unchanged, 1);  // row 250 is that customer as it is
  EXPECT_EQ(st->accepted, 299);
  EXPECT_EQ(count_of(*t.db, "SELECT COUNT(*) FROM customer_emails e JOIN customers c ON c.id = e.customer_id "
                             "WHERE e.email_key = 'client250@exemple.fr' AND c.deleted_at IS NULL"),
            1);
  EXPECT_TRUE(svc.get(other));
}

// A bulk load killed midway leaves its indexes aside; the next start (a migrate) brings them back
// and the rerun resumes without storing a row twice. PostgreSQL imports keep their indexes.
TEST(BulkImport, AKilledLoadGetsItsIndexesBackAndResumes) {
  auto path = write_temp("bulk_killed.csv", test_set_csv(5, 200));
  auto t = storage::testing::make_test_db("sqlite");
  int64_t indexes = count_of(*t.db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'");
  FakeClock clock;
  audit::Actor actor = audit::Actor::cli("test");
  Importer importer(*t.db, clock);
  auto first = importer.run({.path = path, .source = "shop", .batch_rows = 100, .bulk = BulkMode::kOn,
                             .stop_after_batches = 1},
                            actor);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->status, "interrupted");
  EXPECT_GT(count_of(*t.db, "SELECT COUNT(*) FROM bulk_dropped_indexes"), 0);
  EXPECT_LT(count_of(*t.db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'"), indexes);
  ASSERT_TRUE(storage::migrate(*t.db, clock.now()));
  EXPECT_EQ(count_of(*t.db, "SELECT COUNT(*) FROM bulk_dropped_indexes"), 0);
  EXPECT_EQ(count_of(*t.db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'"), indexes);
  auto second = importer.run({.path = path, .source = "shop", .batch_rows = 100, .bulk = BulkMode::kOn}, actor);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_TRUE(second->resumed);
  EXPECT_EQ(second->status, "done");
  EXPECT_EQ(count_of(*t.db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'"), indexes);
  EXPECT_EQ(count_of(*t.db, "SELECT COUNT(*) FROM (SELECT source, external_id FROM customer_external_ids GROUP BY "
                            "source, external_id HAVING COUNT(*) > 1) d"),
            0);
  EXPECT_EQ(second->rows_read, count_of(*t.db, "SELECT COUNT(*) FROM customer_provenance"));

  auto pg = storage::testing::make_test_db("postgres");
  if (!pg.skipped.empty()) return;
  Importer on_pg(*pg.db, clock);
  auto refused = on_pg.run({.path = path, .source = "shop", .bulk = BulkMode::kOn}, actor);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().field, "bulk");
  EXPECT_EQ(parse_bulk_mode("sometimes").error().field, "bulk");
}

TEST_P(ImportTest, EachDateColumnIsReadInTheOrderTheFileWritesIt) {
  Importer importer(*t_.db, clock_);
  // A file from a US system: one birth date can only be month first, so the ambiguous ones are too.
  auto us = importer.preview({.path = write_temp(GetParam() + "_us.csv",
                                                 "email,first name,last name,birthday\n"
                                                 "a@exemple.fr,Ann,Lee,08/01/1975\n"
                                                 "b@exemple.fr,Bob,Lee,11/23/1990\n"),
                              .source = "crm"});
  ASSERT_TRUE(us) << us.error().message;
  EXPECT_EQ(us->rows[0].customer->birth_date, "1975-08-01");
  EXPECT_TRUE(us->rows[0].flags.empty());
  EXPECT_EQ(us->rows[1].customer->birth_date, "1990-11-23");
  // A French file: day first.
  auto fr = importer.preview({.path = write_temp(GetParam() + "_fr.csv",
                                                 "email;prenom;nom;date de naissance\n"
                                                 "a@exemple.fr;Anne;Petit;08/01/1975\n"
                                                 "b@exemple.fr;Paul;Petit;23/11/1990\n"),
                              .source = "shop"});
  ASSERT_TRUE(fr) << fr.error().message;
  EXPECT_EQ(fr->rows[0].customer->birth_date, "1975-01-08");
  // Both orders in one column: the ambiguous dates are read day first and flagged.
  auto mixed = importer.preview({.path = write_temp(GetParam() + "_mixed.csv",
                                                    "email;prenom;nom;date de naissance\n"
                                                    "a@exemple.fr;Anne;Petit;08/01/1975\n"
                                                    "b@exemple.fr;Paul;Petit;23/11/1990\n"
                                                    "c@exemple.fr;Luc;Petit;11/23/1991\n"),
                                 .source = "shop"});
  ASSERT_TRUE(mixed) << mixed.error().message;
  EXPECT_EQ(mixed->rows[0].customer->birth_date, "1975-01-08");
  ASSERT_EQ(mixed->rows[0].flags.size(), 1u);
  EXPECT_EQ(mixed->rows[0].flags[0].value, "08/01/1975");
  EXPECT_NE(mixed->rows[0].flags[0].reason.find("1975-08-01"), std::string::npos) << mixed->rows[0].flags[0].reason;
  EXPECT_TRUE(mixed->rows[1].flags.empty());
}

// Loyalty cards ask the day and month of a birthday, not the year: such a date is a birthday
// ("--MM-DD"), not a malformed birth date, and a known year is never lost to one.
TEST_P(ImportTest, BirthdaysWithoutAYearAreKeptAndNeverEraseAKnownYear) {
  customers::CustomerService svc(*t_.db, clock_);
  Importer importer(*t_.db, clock_);
  auto first = importer.run({.path = write_temp(GetParam() + "_bday1.csv",
                                                "E-mail;Nom;Prénom;Date anniversaire\r\n"
                                                "ana@exemple.fr;Roux;Ana;12/05\r\n"
                                                "ben@exemple.fr;Roux;Ben;1er mai\r\n"
                                                "cyd@exemple.fr;Roux;Cyd;--02-29\r\n"
                                                "dan@exemple.fr;Roux;Dan;14/07/1984\r\n"
                                                "eva@exemple.fr;Roux;Eva;31/02\r\n"),
                             .source = "carte", .source_priority = 50},
                            actor_);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->accepted, 5);
  auto birth = [&](std::string_view email) -> std::optional<std::string> {
    storage::Value p[] = {std::string(email)};
    auto row = t_.db->one("SELECT e.customer_id FROM customer_emails e JOIN customers c ON c.id = e.customer_id "
                          "WHERE e.email = $1 AND c.deleted_at IS NULL",
                          p);
    if (!row || !*row) return "no customer " + std::string(email);
    auto c = svc.get((*row)->i64(0));
    if (!c) return "no customer " + std::string(email) + ": " + c.error().message;
    return c->birth_date;
  };
  EXPECT_EQ(birth("ana@exemple.fr"), "--05-12");
  EXPECT_EQ(birth("ben@exemple.fr"), "--05-01");
  EXPECT_EQ(birth("cyd@exemple.fr"), "--02-29");
  EXPECT_EQ(birth("dan@exemple.fr"), "1984-07-14");
  EXPECT_EQ(birth("eva@exemple.fr"), std::nullopt);  // no such day: flagged, as before
  EXPECT_EQ(first->flagged, 1);
  clock_.advance(60'000);
  // A later file of a higher priority: the year it brings completes Ana's birthday; its day and
  // month alone do not take Dan's year away; Ben's new day replaces his.
  auto second = importer.run({.path = write_temp(GetParam() + "_bday2.csv",
                                                 "E-mail;Nom;Date de naissance\r\n"
                                                 "ana@exemple.fr;Roux;12/05/1990\r\n"
                                                 "dan@exemple.fr;Roux;14/07\r\n"
                                                 "ben@exemple.fr;Roux;02/05\r\n"),
                              .source = "crm", .source_priority = 80},
                             actor_);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(birth("ana@exemple.fr"), "1990-05-12");
  EXPECT_EQ(birth("dan@exemple.fr"), "1984-07-14");
  EXPECT_EQ(birth("ben@exemple.fr"), "--05-02");
  // A lower source only fills gaps, and the year of the same day is one.
  clock_.advance(60'000);
  auto third = importer.run({.path = write_temp(GetParam() + "_bday4.csv",
                                                "E-mail;Nom;Date de naissance\r\n"
                                                "ben@exemple.fr;Roux;02/05/1985\r\n"
                                                "cyd@exemple.fr;Roux;28/02/1990\r\n"),
                             .source = "vieux-fichier", .source_priority = 20},
                            actor_);
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_EQ(birth("ben@exemple.fr"), "1985-05-02");
  EXPECT_EQ(birth("cyd@exemple.fr"), "--02-29");  // another day from a lower source: kept as it was
  // An edited export read back: a child's year given completes the birthday; given without it,
  // the year stays.
  customers::CustomerInput family;
  family.last_name = "Roux";
  family.emails = std::vector<customers::EmailAddress>{{"famille.roux@exemple.fr", ""}};
  family.household = std::vector<customers::HouseholdMember>{{"enfant", "Léa", "--04-02"}};
  auto fam = svc.create(family, actor_);
  ASSERT_TRUE(fam) << fam.error().message;
  auto own_row = [&](const std::string& name, const std::string& cell) {
    return importer.run({.path = write_temp(GetParam() + name,
                                            fmt::format("id;nom;foyer\r\n{};Roux;{}\r\n", fam->id, cell)),
                         .source = "excel",
                         .source_priority = 100,
                         .mapping = {{"id", "customer_id"}, {"nom", "last_name"}, {"foyer", "household"}}},
                        actor_);
  };
  auto with_year = own_row("_bday5.csv", "enfant:Léa:2015-04-02");
  ASSERT_TRUE(with_year) << with_year.error().message;
  EXPECT_EQ(with_year->updated, 1);
  EXPECT_EQ(svc.get(fam->id)->household.at(0).birth_date, "2015-04-02");
  auto without = own_row("_bday6.csv", "enfant:Léa:--04-02");
  ASSERT_TRUE(without) << without.error().message;
  EXPECT_EQ(without->unchanged, 1);
  EXPECT_EQ(svc.get(fam->id)->household.at(0).birth_date, "2015-04-02");
  // A child's birthday in a household cell, too.
  auto kids = importer.preview({.path = write_temp(GetParam() + "_bday3.csv",
                                                   "email;foyer\nzoe@exemple.fr;enfant:Léa:--04-02|enfant:Tom:3 juin\n"),
                                .source = "carte",
                                .mapping = {{"email", "email"}, {"foyer", "household"}}});
  ASSERT_TRUE(kids) << kids.error().message;
  ASSERT_TRUE(kids->rows[0].customer);
  ASSERT_TRUE(kids->rows[0].customer->household);
  ASSERT_EQ(kids->rows[0].customer->household->size(), 2u);
  EXPECT_EQ((*kids->rows[0].customer->household)[0].birth_date, "--04-02");
  EXPECT_EQ((*kids->rows[0].customer->household)[1].birth_date, "--06-03");
}

// A dry run says what the import would do with each row and the customers stored: update the one
// it names, merge, queue for review, or reject; and the import then does it.
TEST_P(ImportTest, ADryRunForeseesUpdatesMergesReviewsAndRejections) {
  Importer importer(*t_.db, clock_);
  const std::string head = "id,first_name,last_name,email,phone,street,postcode,city,birth_date\n";
  auto base = importer.run({.path = write_temp(GetParam() + "_fc1.csv",
                                               head + "S1,Jeanne,Durandal,ja@exemple.fr,0611111112,5 rue A,75011,Paris,1980-01-01\n"
                                                      "S2,Paul,Martin,paul@exemple.fr,0622222223,8 rue B,69007,Lyon,1975-03-04\n"
                                                      "S3,Marie,Lefèvre,marie@exemple.fr,0633333334,3 rue C,33000,Bordeaux,1990-06-07\n"
                                                      "S4,Luc,Bernard,luc@exemple.fr,0644444445,9 rue D,59000,Lille,1970-09-10\n"),
                            .source = "shop"},
                           actor_);
  ASSERT_TRUE(base) << base.error().message;
  ASSERT_EQ(base->accepted, 4);
  // Marie unsubscribed from the newsletter herself.
  customers::CustomerService svc(*t_.db, clock_);
  customers::CustomerInput unsubscribe;
  unsubscribe.consents = std::vector<customers::Consent>{
      {customers::Channel::kEmail, customers::Purpose::kNewsletter, false, "web-form", 0}};
  ASSERT_TRUE(svc.update(3, svc.get(3)->version, unsubscribe, actor_));
  const std::string file = write_temp(GetParam() + "_fc2.csv",
                                      "fid;ref;prenom;nom;mail;tel;cp;ville;naissance;news\n"
                                      "1;;Jeanne;Durandal;ja@exemple.fr;0611111112;75011;Paris;01/01/1980;\n"      // its Fidelis id
                                      ";S2;Paul;Martin;;;;;;\n"                                                    // its id in the source
                                      ";N9;Marie;Lefèvre;m.lefevre@autre.fr;0633333334;33000;Bordeaux;07/06/1990;oui\n"  // the model: the same
                                      ";N10;Jeanne;Durandal;jeanne.d@ailleurs.fr;;75011;Paris;;\n"                 // the model: perhaps
                                      ";;;;luc@exemple.fr;;;;;\n"                                                  // an e-mail alone
                                      ";N11;Zoé;Nouvelle;zoe@exemple.fr;;13001;Marseille;;\n"                      // nobody
                                      "999;;Ghost;Gone;;;;;;\n");                                                  // no such customer
  ImportOptions o{.path = file,
                  .source = "shop",
                  .mapping = {{"fid", "customer_id"}, {"ref", "external_id"}, {"prenom", "first_name"}, {"nom", "last_name"},
                              {"mail", "email"}, {"tel", "phone"}, {"cp", "postcode"}, {"ville", "city"},
                              {"naissance", "birth_date"}, {"news", "consent:email:newsletter"}}};
  auto p = importer.preview(o);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->rows.size(), 7u);
  auto match = [&](size_t i) {
    const auto& m = p->rows[i].match;
    if (!m) return std::string("new");
    std::string ids;
    for (int64_t id : m->customers) ids += (ids.empty() ? "" : ",") + std::to_string(id);
    return m->outcome + " " + m->by + " " + ids;
  };
  EXPECT_EQ(match(0), "update customer_id 1");
  EXPECT_EQ(match(1), "update external_id 2");
  EXPECT_EQ(match(2), "merge model 3");
  EXPECT_GT(p->rows[2].match->score.value_or(0), 0);
  // The consent the file gives back to the customer the model merges the row into is refused there.
  ASSERT_EQ(p->rows[2].flags.size(), 1u);
  EXPECT_EQ(p->rows[2].flags[0].field, "consent:email:newsletter");
  EXPECT_EQ(match(3), "review model 1");
  EXPECT_EQ(match(4), "update email 4");  // a list of addresses: the customer who has them
  EXPECT_EQ(match(5), "new");
  ASSERT_TRUE(p->rows[6].rejection);
  EXPECT_EQ(p->rows[6].rejection->field, "fid");
  EXPECT_NE(p->rows[6].rejection->message.find("no customer 999"), std::string::npos);
  // Without matching, only ids name customers.
  o.dedup = false;
  auto plain = importer.preview(o);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->rows[1].match->by, "external_id");
  EXPECT_FALSE(plain->rows[2].match);
  // Without matching, an address Luc has is his: the row has nothing else and would be rejected.
  ASSERT_TRUE(plain->rows[4].rejection);
  EXPECT_EQ(plain->rows[4].rejection->field, "mail");
  // The import does what the dry run said, line by line.
  o.dedup = true;
  auto run = importer.run(o, actor_);
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->rejected, 1);
  EXPECT_EQ(run->merged, 1);
  EXPECT_EQ(run->queued, 1);
  EXPECT_EQ(run->updated + run->unchanged, 3);
  EXPECT_EQ(run->accepted, 2);  // Jeanne's possible double and Zoé (Marie's row is counted merged)
  storage::Value import_id[] = {run->id};
  EXPECT_EQ((*t_.db->one("SELECT line FROM import_rejects WHERE import_id = $1", import_id))->i64(0), 8);
  storage::Value jeanne[] = {int64_t{1}};
  EXPECT_EQ((*t_.db->one("SELECT COUNT(*) FROM merge_reviews WHERE customer_a = $1", jeanne))->i64(0), 1);
  auto n9 = customers::CustomerService(*t_.db, clock_).get(3);
  ASSERT_TRUE(n9);
  EXPECT_TRUE(std::any_of(n9->external_ids.begin(), n9->external_ids.end(),
                          [](const customers::ExternalId& x) { return x.id == "N9"; }));  // Marie's row, merged into her
  // A row naming its customer but carrying an id of a deleted customer: rejected by both.
  ASSERT_TRUE(customers::CustomerService(*t_.db, clock_).remove(4, std::nullopt, actor_));
  auto deleted = importer.preview({.path = write_temp(GetParam() + "_fc3.csv", "fid;ref;nom\n2;S4;Martin\n"),
                                   .source = "shop",
                                   .mapping = {{"fid", "customer_id"}, {"ref", "external_id"}, {"nom", "last_name"}}});
  ASSERT_TRUE(deleted) << deleted.error().message;
  ASSERT_TRUE(deleted->rows[0].rejection);
  EXPECT_NE(deleted->rows[0].rejection->message.find("which was deleted"), std::string::npos);
  auto deleted_run = importer.run({.path = write_temp(GetParam() + "_fc3.csv", "fid;ref;nom\n2;S4;Martin\n"),
                                   .source = "shop",
                                   .mapping = {{"fid", "customer_id"}, {"ref", "external_id"}, {"nom", "last_name"}}},
                                  actor_);
  ASSERT_TRUE(deleted_run) << deleted_run.error().message;
  EXPECT_EQ(deleted_run->rejected, 1);
  // A row naming its customer with an id another customer has: the id stays with its owner, flagged.
  auto held = importer.preview({.path = write_temp(GetParam() + "_fc4.csv", "fid;ref;nom\n2;S1;Martin\n"),
                                .source = "shop",
                                .mapping = {{"fid", "customer_id"}, {"ref", "external_id"}, {"nom", "last_name"}}});
  ASSERT_TRUE(held) << held.error().message;
  EXPECT_EQ(held->rows[0].match->customers, (std::vector<int64_t>{2}));
  ASSERT_EQ(held->rows[0].flags.size(), 1u);
  EXPECT_EQ(held->rows[0].flags[0].field, "external_id");
  EXPECT_EQ(held->rows[0].flags[0].value, "shop:S1");
}

// Excel keeps a column of phone numbers or ids as numbers and may write them in scientific
// notation: all digits there are read back; rounded ones are no number, and no id to match on.
TEST_P(ImportTest, NumbersAndDatesASpreadsheetWroteAsNumbersAreReadOrFlagged) {
  Importer importer(*t_.db, clock_);
  const std::string csv =
      "Carte;Nom;Prénom;Email;Téléphone\r\n"
      "1,23456789012E+11;Durand;Paul;paul@exemple.fr;6,12345687E+08\r\n"
      "1,23457E+12;Petit;Anne;anne@exemple.fr;6,12346E+08\r\n"
      "1,23457E+12;Roux;Léa;lea@exemple.fr;+33 6 12 34 56 79\r\n";
  ImportOptions o{.path = write_temp(GetParam() + "_sci.csv", csv), .source = "fidelite",
                  .mapping = {{"Carte", "external_id"}, {"Nom", "last_name"}, {"Prénom", "first_name"},
                              {"Email", "email"}, {"Téléphone", "phone"}}};
  auto p = importer.preview(o);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->rows.size(), 3u);
  ASSERT_TRUE(p->rows[0].customer);
  ASSERT_EQ(p->rows[0].customer->phones->size(), 1u);
  EXPECT_EQ(p->rows[0].customer->phones->at(0).e164, "+33612345687");
  EXPECT_TRUE(p->rows[0].flags.empty());
  ASSERT_TRUE(p->rows[0].customer->external_ids);
  EXPECT_EQ(p->rows[0].customer->external_ids->at(0).id, "123456789012");
  // Rounded: no phone and no id, each flagged with what the file says.
  EXPECT_FALSE(p->rows[1].customer->phones && !p->rows[1].customer->phones->empty());
  ASSERT_EQ(p->rows[1].flags.size(), 2u);
  EXPECT_EQ(p->rows[1].flags[0].field, "external_id");
  EXPECT_EQ(p->rows[1].flags[0].value, "1,23457E+12");
  EXPECT_NE(p->rows[1].flags[0].reason.find("scientific notation"), std::string::npos);
  EXPECT_EQ(p->rows[1].flags[1].field, "phone");
  EXPECT_EQ(p->rows[1].customer->external_ids.value_or(std::vector<customers::ExternalId>{}).size(), 0u);
  // Codes that look like numbers in scientific notation but that no spreadsheet writes stay codes.
  auto codes = importer.preview({.path = write_temp(GetParam() + "_codes.csv",
                                                    "Carte;Nom;Email\r\n3E12;Durand;a@exemple.fr\r\n1E05;Petit;b@exemple.fr\r\n"),
                                 .source = "fidelite",
                                 .mapping = {{"Carte", "external_id"}, {"Nom", "last_name"}, {"Email", "email"}}});
  ASSERT_TRUE(codes) << codes.error().message;
  EXPECT_EQ(codes->rows[0].customer->external_ids->at(0).id, "3E12");
  EXPECT_EQ(codes->rows[1].customer->external_ids->at(0).id, "1E05");
  EXPECT_TRUE(codes->rows[0].flags.empty());
  // A date column saved as numbers holds the spreadsheet's day numbers; a year alone is no date.
  auto days = importer.preview({.path = write_temp(GetParam() + "_serial.csv",
                                                   "Email;Nom;Date de naissance\r\n"
                                                   "a@exemple.fr;Durand;30987\r\nb@exemple.fr;Petit;1984\r\n"
                                                   "c@exemple.fr;Roux;32874\r\n"),
                                .source = "fidelite"});
  ASSERT_TRUE(days) << days.error().message;
  EXPECT_EQ(days->rows[0].customer->birth_date, "1984-11-01");
  EXPECT_TRUE(days->rows[0].flags.empty());
  EXPECT_FALSE(days->rows[1].customer->birth_date);
  ASSERT_EQ(days->rows[1].flags.size(), 1u);
  EXPECT_EQ(days->rows[1].flags[0].field, "birth_date");
  // In a column of dates, a five-digit cell is no day number (31290: 03/12/90 that lost its zero).
  auto dated = importer.preview({.path = write_temp(GetParam() + "_serial2.csv",
                                                    "Email;Nom;Date de naissance\r\n"
                                                    "a@exemple.fr;Durand;14/07/1984\r\nb@exemple.fr;Petit;31290\r\n"
                                                    "c@exemple.fr;Roux;02/05/1990\r\n"),
                                 .source = "fidelite"});
  ASSERT_TRUE(dated) << dated.error().message;
  EXPECT_FALSE(dated->rows[1].customer->birth_date);
  ASSERT_EQ(dated->rows[1].flags.size(), 1u);
  EXPECT_EQ(dated->rows[1].flags[0].field, "birth_date");
  // The two rounded ids are not taken for one record: two customers.
  auto r = importer.run(o, actor_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->accepted, 3);
  EXPECT_EQ(r->updated, 0);
  EXPECT_EQ(r->flagged, 2);
}

TEST_P(ImportTest, UnreadColumnsThatLookLikeContactsAreWarnedOf) {
  Importer importer(*t_.db, clock_);
  const std::string csv = "Nom;Prénom;Joindre au;Écrire à;Remarque\n"
                          "Dupont;Jean;06 12 34 56 87;jean@exemple.fr;client fidèle\n"
                          "Martin;Paul;0612345679;paul@exemple.fr;\n"
                          "Petit;Anne;+33 6 12 34 56 80;anne@exemple.fr;appeler le soir\n";
  auto p = importer.preview({.path = write_temp(GetParam() + "_warn.csv", csv), .source = "x"});
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->warnings.size(), 2u);
  EXPECT_NE(p->warnings[0].find("\"Joindre au\""), std::string::npos) << p->warnings[0];
  EXPECT_NE(p->warnings[0].find("phone numbers"), std::string::npos);
  EXPECT_NE(p->warnings[1].find("e-mail addresses"), std::string::npos);
  auto r = importer.run({.path = write_temp(GetParam() + "_warn2.csv", csv), .source = "x"}, actor_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->warnings, p->warnings);  // kept with the import
  EXPECT_EQ(importer.status(r->id)->warnings, p->warnings);
}

TEST_P(ImportTest, PreviewChangesNothing) {
  Importer importer(*t_.db, clock_);
  auto p = importer.preview({.path = write_temp(GetParam() + "_prev.csv", shop_export()), .source = "boutique"}, 10);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->rows.size(), 4u);
  EXPECT_TRUE(p->rows[0].customer);
  EXPECT_EQ(p->rows[1].flags.size(), 1u);
  ASSERT_TRUE(p->rows[2].rejection);
  EXPECT_EQ(p->rows[2].line, 4);
  EXPECT_EQ((*t_.db->one("SELECT COUNT(*) FROM customers"))->i64(0), 0);
}

TEST_P(ImportTest, ExportsCsvForFrenchExcelAndJsonLines) {
  Importer importer(*t_.db, clock_);
  ASSERT_TRUE(importer.run({.path = write_temp(GetParam() + "_exp.csv", newsletter_export()), .source = "n"}, actor_));
  std::string excel, jsonl;
  auto n = export_customers(*t_.db, ExportFormat::kCsvExcelFr, false, [&](std::string_view c) -> Status {
    excel += c;
    return ok();
  });
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 3);
  EXPECT_TRUE(excel.starts_with("\xEF\xBB\xBFid;civility;first_name;"));
  EXPECT_NE(excel.find(";Zoé;Martin;zoe.martin@laposte.net;"), std::string::npos) << excel;
  ASSERT_TRUE(export_customers(*t_.db, ExportFormat::kJsonLines, false, [&](std::string_view c) -> Status {
    jsonl += c;
    return ok();
  }));
  EXPECT_EQ(std::count(jsonl.begin(), jsonl.end(), '\n'), 3);
  EXPECT_TRUE(jsonl.starts_with("{\"id\":"));
  EXPECT_EQ(parse_export_format("xml").error().field, "format");
}

TEST_P(ImportTest, AnExcelExportRunsNoFormulaAndImportsBackAsItWas) {
  customers::CustomerService svc(*t_.db, clock_);
  customers::CustomerInput in;
  in.first_name = "Zoé";
  in.last_name = "Martin";
  in.emails = std::vector<customers::EmailAddress>{{"zoe@exemple.fr", ""}, {"zoe.martin@travail.fr", ""}, {"zm@free.fr", ""}};
  in.phones = std::vector<customers::Phone>{customers::Phone{.raw = "06 12 34 56 87"}, customers::Phone{.raw = "01 45 67 89 10"}};
  in.tags = std::vector<std::string>{"vip", "client fidèle"};
  in.address = customers::Address{"=HYPERLINK(\"http://evil\";\"x\")", std::nullopt, "75011", "Paris", "FR"};
  in.external_ids = std::vector<customers::ExternalId>{{"boutique", "C006"}};
  in.birth_date = "--05-12";  // a birthday without its year
  in.household = std::vector<customers::HouseholdMember>{{"enfant", "Léa", "--04-02"}};
  in.consents = std::vector<customers::Consent>{{customers::Channel::kEmail, customers::Purpose::kNewsletter, true, "web-form", 0},
                                                {customers::Channel::kSms, customers::Purpose::kOffers, false, "web-form", 0}};
  auto made = svc.create(in, actor_);
  ASSERT_TRUE(made) << made.error().message;
  std::string excel;
  ASSERT_TRUE(export_customers(*t_.db, ExportFormat::kCsvExcelFr, false, [&](std::string_view c) -> Status {
    excel += c;
    return ok();
  }));
  EXPECT_NE(excel.find(";\"'=HYPERLINK(\"\"http://evil\"\";\"\"x\"\")\";"), std::string::npos) << excel;
  EXPECT_NE(excel.find(";'+33612345687;'+33145678910;"), std::string::npos) << excel;
  EXPECT_NE(excel.find(";'--05-12;"), std::string::npos) << excel;
  EXPECT_NE(excel.find(";zoe.martin@travail.fr|zm@free.fr;"), std::string::npos) << excel;
  EXPECT_NE(excel.find(";client fidèle|vip;boutique:C006;enfant:Léa:--04-02;;oui;;;;non;"), std::string::npos) << excel;

  // Into an empty base, the file gives the same profile back.
  auto other = storage::testing::make_test_db("sqlite");
  Importer importer(*other.db, clock_);
  auto r = importer.run({.path = write_temp(GetParam() + "_roundtrip.csv", excel), .source = "export"}, actor_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->accepted, 1);
  customers::CustomerService back(*other.db, clock_);
  auto c = back.get(1);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->emails.size(), 3u);
  EXPECT_EQ(c->emails[2].email, "zm@free.fr");
  ASSERT_EQ(c->phones.size(), 2u);
  EXPECT_EQ(c->phones[1].e164, "+33145678910");
  EXPECT_EQ(c->tags, (std::vector<std::string>{"client fidèle", "vip"}));
  EXPECT_EQ(c->address.street, "=HYPERLINK(\"http://evil\";\"x\")");  // the apostrophe taken off again
  EXPECT_EQ(c->birth_date, "--05-12");
  ASSERT_EQ(c->household.size(), 1u);
  EXPECT_EQ(c->household[0].birth_date, "--04-02");
  // Its ids in other systems and its consents come back too (the consents from the import's source).
  EXPECT_NE(std::find_if(c->external_ids.begin(), c->external_ids.end(),
                         [](const customers::ExternalId& x) { return x.source == "boutique" && x.id == "C006"; }),
            c->external_ids.end());
  ASSERT_EQ(c->consents.size(), 2u);
  EXPECT_EQ(c->consents[0].channel, customers::Channel::kEmail);
  EXPECT_TRUE(c->consents[0].granted);
  EXPECT_EQ(c->consents[1].channel, customers::Channel::kSms);
  EXPECT_FALSE(c->consents[1].granted);
  EXPECT_EQ(spreadsheet_text("-12"), "'-12");
  EXPECT_EQ(spreadsheet_text("Dupont"), "Dupont");
}

TEST_P(ImportTest, CustomFieldsRoundTripThroughACsvExport) {
  customers::CustomerService svc(*t_.db, clock_);
  ASSERT_TRUE(svc.define_custom_field({"pointure", "Pointure", customers::CustomFieldType::kInteger, {}}, actor_));
  customers::CustomerInput in;
  in.last_name = "Pied";
  in.emails = std::vector<customers::EmailAddress>{{"pied@exemple.fr", ""}};
  in.custom_fields = std::map<std::string, std::optional<customers::CustomValue>>{{"pointure", int64_t{43}}};
  ASSERT_TRUE(svc.create(in, actor_));
  std::string csv;
  ASSERT_TRUE(export_customers(*t_.db, ExportFormat::kCsv, false, [&](std::string_view c) -> Status {
    csv += c;
    return ok();
  }));
  EXPECT_NE(csv.find(",pointure,"), std::string::npos) << csv;
  auto other = storage::testing::make_test_db("sqlite");
  customers::CustomerService back(*other.db, clock_);
  ASSERT_TRUE(back.define_custom_field({"pointure", "Pointure", customers::CustomFieldType::kInteger, {}}, actor_));
  Importer importer(*other.db, clock_);
  ASSERT_TRUE(importer.run({.path = write_temp(GetParam() + "_custom.csv", csv), .source = "export"}, actor_));
  auto c = back.get(1);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->custom_fields.at("pointure"), customers::CustomValue(int64_t{43}));
}

// French Excel reads "1234,5" as a number and "1234.5" as text: its export writes numbers with a
// decimal comma, negative ones without the apostrophe that keeps text from running, and they import
// back as they were.
TEST_P(ImportTest, NumbersExportForFrenchExcelWithADecimalComma) {
  customers::CustomerService svc(*t_.db, clock_);
  ASSERT_TRUE(svc.define_custom_field({"panier", "Panier moyen", customers::CustomFieldType::kNumber, {}}, actor_));
  ASSERT_TRUE(svc.define_custom_field({"solde", "Solde", customers::CustomFieldType::kInteger, {}}, actor_));
  customers::CustomerInput in;
  in.last_name = "Chiffre";
  in.emails = std::vector<customers::EmailAddress>{{"chiffre@exemple.fr", ""}};
  in.custom_fields = std::map<std::string, std::optional<customers::CustomValue>>{{"panier", 1234.5}, {"solde", int64_t{-12}}};
  ASSERT_TRUE(svc.create(in, actor_));
  customers::CustomerInput tiny;  // a value a shortest writing would give with an exponent
  tiny.last_name = "Minuscule";
  tiny.emails = std::vector<customers::EmailAddress>{{"minuscule@exemple.fr", ""}};
  tiny.custom_fields = std::map<std::string, std::optional<customers::CustomValue>>{{"panier", 0.00001}};
  ASSERT_TRUE(svc.create(tiny, actor_));
  // Every digit a number needs, however small or large: it reads back the same.
  const std::vector<double> extremes = {2.5e-19, 3.14159265358979e-8, 1.234567890123e-9, 1.5e300, -6.02e23};
  for (size_t i = 0; i < extremes.size(); ++i) {
    customers::CustomerInput x;
    x.last_name = "Extreme";
    x.emails = std::vector<customers::EmailAddress>{{fmt::format("extreme{}@exemple.fr", i), ""}};
    x.custom_fields = std::map<std::string, std::optional<customers::CustomValue>>{{"panier", extremes[i]}};
    ASSERT_TRUE(svc.create(x, actor_));
  }
  auto exported = [&](ExportFormat f) {
    std::string out;
    EXPECT_TRUE(export_customers(*t_.db, f, false, [&](std::string_view c) -> Status {
      out += c;
      return ok();
    }));
    return out;
  };
  std::string excel = exported(ExportFormat::kCsvExcelFr), plain = exported(ExportFormat::kCsv);
  EXPECT_NE(excel.find(";1234,5;-12;"), std::string::npos) << excel;
  EXPECT_NE(plain.find(",1234.5,-12,"), std::string::npos) << plain;
  EXPECT_NE(excel.find(";0,00001;"), std::string::npos) << excel;
  EXPECT_NE(plain.find(",0.00001,"), std::string::npos) << plain;
  auto other = storage::testing::make_test_db("sqlite");
  customers::CustomerService back(*other.db, clock_);
  ASSERT_TRUE(back.define_custom_field({"panier", "Panier moyen", customers::CustomFieldType::kNumber, {}}, actor_));
  ASSERT_TRUE(back.define_custom_field({"solde", "Solde", customers::CustomFieldType::kInteger, {}}, actor_));
  Importer importer(*other.db, clock_);
  ASSERT_TRUE(importer.run({.path = write_temp(GetParam() + "_numbers.csv", excel), .source = "export"}, actor_));
  auto c = back.get(1);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->custom_fields.at("panier"), customers::CustomValue(1234.5));
  EXPECT_EQ(c->custom_fields.at("solde"), customers::CustomValue(int64_t{-12}));
  auto t = back.get(2);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->custom_fields.at("panier"), customers::CustomValue(0.00001));
  EXPECT_NE(excel.find(";0,00000000000000000025;"), std::string::npos) << excel;
  for (size_t i = 0; i < extremes.size(); ++i) {
    auto x = back.get(static_cast<int64_t>(3 + i));
    ASSERT_TRUE(x);
    EXPECT_EQ(x->custom_fields.at("panier"), customers::CustomValue(extremes[i])) << extremes[i];
  }
}

TEST_P(ImportTest, AnExportEditedInASpreadsheetUpdatesItsOwnBase) {
  customers::CustomerService svc(*t_.db, clock_);
  customers::CustomerInput bob;
  bob.first_name = "Bob";
  bob.last_name = "Morane";  // no e-mail, no id elsewhere: only his Fidelis id names him
  bob.phones = std::vector<customers::Phone>{{.raw = "06 44 15 58 11", .label = "mobile"}, {.raw = "04 72 04 80 54"}};
  bob.tags = std::vector<std::string>{"soldes", "vip"};
  auto made = svc.create(bob, actor_);
  ASSERT_TRUE(made);
  std::string csv;
  ASSERT_TRUE(export_customers(*t_.db, ExportFormat::kCsvExcelFr, false, [&](std::string_view c) -> Status {
    csv += c;
    return ok();
  }));
  // Someone fixes his name in the spreadsheet and imports the file back, its ids read as Fidelis ids.
  size_t at = csv.find(";Morane;");
  ASSERT_NE(at, std::string::npos) << csv;
  csv.replace(at, 8, ";Moranne;");
  // ... gives him a new mobile, keeps his landline second, and takes a tag off.
  at = csv.find(";'+33644155811;'+33472048054;");
  ASSERT_NE(at, std::string::npos) << csv;
  csv.replace(at, 29, ";'+33699887766;'+33472048054;");
  at = csv.find(";soldes|vip;");
  ASSERT_NE(at, std::string::npos) << csv;
  csv.replace(at, 12, ";vip;");
  Importer importer(*t_.db, clock_);
  auto r = importer.run({.path = write_temp(GetParam() + "_edited.csv", csv), .source = "excel", .source_priority = 100,
                         .mapping = {{"id", "customer_id"}, {"first_name", "first_name"}, {"last_name", "last_name"},
                                     {"phone", "phone"}, {"other_phones", "phone"}, {"tags", "tags"}}},
                        actor_);
  ASSERT_TRUE(r) << r.error().field << ": " << r.error().message;
  EXPECT_EQ(r->accepted, 0);
  EXPECT_EQ(r->updated, 1);
  EXPECT_EQ(r->merged, 0);
  EXPECT_TRUE(r->warnings.empty());  // the e-mail columns left unread take nothing off
  EXPECT_EQ(svc.list({.limit = 10})->items.size(), 1u);
  auto edited = svc.get(made->id);
  EXPECT_EQ(edited->last_name, "Moranne");
  ASSERT_EQ(edited->phones.size(), 2u);
  EXPECT_EQ(edited->phones[0].e164, "+33699887766");  // the new mobile is the main one
  EXPECT_EQ(edited->phones[1].raw, "04 72 04 80 54");  // the landline kept as it was written
  EXPECT_EQ(edited->tags, std::vector<std::string>{"vip"});
  // A Fidelis id no live customer has is rejected, naming the column.
  auto other = importer.run({.path = write_temp(GetParam() + "_other.csv", "id;last_name\r\n999;Durand\r\n"),
                             .source = "excel", .mapping = {{"id", "customer_id"}, {"last_name", "last_name"}}},
                            actor_);
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_EQ(other->rejected, 1);
  EXPECT_NE(importer.rejects_csv(other->id)->find("2,id,\"no customer 999"), std::string::npos) << *importer.rejects_csv(other->id);
}

// A narrow edit of an export (id, names, one e-mail column, tags) read back at the rank to
// overwrite: the file's one e-mail column gives the main address, and the customer's other
// addresses and numbers stay (no column of the file gives them); the emptied tags cell takes the
// tags off, as the dry run says first; a malformed value takes nothing off.
TEST_P(ImportTest, ANarrowEditKeepsTheOtherAddressesAndEmptiesTheTagsCell) {
  customers::CustomerService svc(*t_.db, clock_);
  customers::CustomerInput loic;
  loic.first_name = "Loïc";
  loic.last_name = "Roux";
  loic.emails = std::vector<customers::EmailAddress>{{.email = "loic.roux@yahoo.fr"}, {.email = "l.roux@outlook.fr"}};
  loic.phones = std::vector<customers::Phone>{{.raw = "06 44 15 58 11"}, {.raw = "04 72 04 80 54"}};
  loic.tags = std::vector<std::string>{"vip"};
  auto made = svc.create(loic, actor_);
  ASSERT_TRUE(made) << made.error().message;
  const std::string id = std::to_string(made->id);
  const ImportOptions o{.path = write_temp(GetParam() + "_narrow.csv", "id;first_name;last_name;email;phone;tags\r\n" + id +
                                                                            ";Loïc;Roux;loic.roux@yahoo.fr;06 44 15 58 11;\r\n"),
                        .source = "retouche",
                        .source_priority = 100,
                        .mapping = {{"id", "customer_id"}, {"first_name", "first_name"}, {"last_name", "last_name"},
                                    {"email", "email"}, {"phone", "phone"}, {"tags", "tags"}}};
  Importer importer(*t_.db, clock_);
  auto dry = importer.preview(o, 10);
  ASSERT_TRUE(dry) << dry.error().message;
  ASSERT_EQ(dry->rows.size(), 1u);
  EXPECT_EQ(dry->rows[0].empties, std::vector<std::string>{"tags"});
  auto r = importer.run(o, actor_);
  ASSERT_TRUE(r) << r.error().field << ": " << r.error().message;
  EXPECT_EQ(r->updated, 1);
  auto after = svc.get(made->id);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->emails.size(), 2u);
  EXPECT_EQ(after->emails[0].email, "loic.roux@yahoo.fr");
  EXPECT_EQ(after->emails[1].email, "l.roux@outlook.fr");
  ASSERT_EQ(after->phones.size(), 2u);
  EXPECT_EQ(after->phones[1].raw, "04 72 04 80 54");
  EXPECT_TRUE(after->tags.empty());
  // A malformed address in the e-mail cell (flagged) takes none of the customer's off.
  const ImportOptions typo{.path = write_temp(GetParam() + "_narrow2.csv", "id;first_name;last_name;email;phone;tags\r\n" + id +
                                                                             ";Loïc;Roux;loic.roux@yahoo;06 44 15 58 11;\r\n"),
                           .source = "retouche",
                           .source_priority = 100,
                           .mapping = o.mapping};
  auto flagged = importer.run(typo, actor_);
  ASSERT_TRUE(flagged) << flagged.error().message;
  EXPECT_EQ(flagged->flagged, 1);
  after = svc.get(made->id);
  ASSERT_EQ(after->emails.size(), 2u);
  EXPECT_EQ(after->emails[0].email, "loic.roux@yahoo.fr");
  // A new main address and a number that reads as none: the former main address stays second,
  // and the numbers stay as they were.
  const ImportOptions swap{.path = write_temp(GetParam() + "_narrow3.csv", "id;first_name;last_name;email;phone;tags\r\n" + id +
                                                                             ";Loïc;Roux;l.roux@outlook.fr;12;\r\n"),
                           .source = "retouche",
                           .source_priority = 100,
                           .mapping = o.mapping};
  ASSERT_TRUE(importer.run(swap, actor_));
  after = svc.get(made->id);
  ASSERT_EQ(after->emails.size(), 2u);
  EXPECT_EQ(after->emails[0].email, "l.roux@outlook.fr");
  EXPECT_EQ(after->emails[1].email, "loic.roux@yahoo.fr");
  ASSERT_EQ(after->phones.size(), 2u);
  EXPECT_EQ(after->phones[0].raw, "06 44 15 58 11");
  EXPECT_EQ(after->phones[1].raw, "04 72 04 80 54");
}

// The base's own export read back unchanged changes nothing, a customer without a country included
// (the default country is for files that give none, not for an export's empty country cell).
TEST_P(ImportTest, AnUnchangedExportReadBackChangesNothing) {
  customers::CustomerService svc(*t_.db, clock_);
  customers::CustomerInput paul;
  paul.first_name = "Paul";
  paul.last_name = "Vidal";
  paul.emails = std::vector<customers::EmailAddress>{{.email = "paul.vidal@exemple.fr"}};
  paul.address = customers::Address{std::nullopt, std::nullopt, std::nullopt, "Genève", std::nullopt};
  auto made = svc.create(paul, actor_);
  ASSERT_TRUE(made) << made.error().message;
  ASSERT_FALSE(made->address.country);
  std::string csv;
  ASSERT_TRUE(export_customers(*t_.db, ExportFormat::kCsvExcelFr, false, [&](std::string_view c) -> Status {
    csv += c;
    return ok();
  }));
  Importer importer(*t_.db, clock_);
  auto r = importer.run({.path = write_temp(GetParam() + "_roundtrip.csv", csv), .source = "excel", .source_priority = 100,
                         .mapping = {{"id", "customer_id"}, {"first_name", "first_name"}, {"last_name", "last_name"},
                                     {"email", "email"}, {"other_emails", "email"}, {"street", "street"},
                                     {"postcode", "postcode"}, {"city", "city"}, {"country", "country"}}},
                        actor_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->unchanged, 1);
  EXPECT_EQ(r->updated, 0);
  auto after = svc.get(made->id);
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->address.country);
  EXPECT_EQ(after->version, made->version);
}

// A newsletter tool's list of subscribers: every row gives the consent the file stands for, dated
// by its opt-in times, unless a column of the row says otherwise.
TEST_P(ImportTest, AListOfSubscribersGivesItsConsentToEveryRow) {
  Importer importer(*t_.db, clock_);
  customers::CustomerService svc(*t_.db, clock_);
  const std::string path = write_temp(GetParam() + "_sub.csv",
                                      "Email Address,First Name,Last Name,OPTIN_TIME,CONFIRM_TIME,Newsletter\r\n"
                                      "ana@exemple.fr,Ana,Roux,2023-05-04 10:11:12,2023-05-05T08:00:00Z,\r\n"
                                      "bob@exemple.fr,Bob,Roux,2023-06-01,,non\r\n");
  // A consent no channel or purpose names is refused by name, before anything is read.
  auto bad = importer.run({.path = path, .source = "mailchimp", .consents = {"fax:newsletter"}}, actor_);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "consents[0]");
  auto twice = importer.preview({.path = path, .source = "mailchimp", .consents = {"email:newsletter", "email:newsletter"}});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().field, "consents[1]");
  // The options go with a queued import, for a restarted server to resume it.
  EXPECT_EQ(decode_options(encode_options({.source = "mailchimp", .consents = {"email:newsletter", "sms:offers"}})).consents,
            (std::vector<std::string>{"email:newsletter", "sms:offers"}));
  auto r = importer.run({.path = path, .source = "mailchimp", .consents = {"email:newsletter"}}, actor_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->accepted, 2);
  auto consent = [&](const std::string& email) { return newsletter_consent(svc, email); };
  auto ana = consent("ana@exemple.fr");
  ASSERT_TRUE(ana);
  EXPECT_TRUE(ana->granted);
  EXPECT_EQ(ana->source, "mailchimp");
  EXPECT_EQ(ana->source_at, parse_iso8601("2023-05-05T08:00:00Z", "t").value());
  auto bob = consent("bob@exemple.fr");  // his row's column says no
  ASSERT_TRUE(bob);
  EXPECT_FALSE(bob->granted);
  EXPECT_FALSE(bob->source_at);
}

// What people typed ranks above every source but a priority-100 one, even once an import filled a
// gap in it; a customer an import brought ranks as that import's source.
TEST_P(ImportTest, WhatPeopleTypedStaysAboveTheSourcesThatFilledItsGaps) {
  customers::CustomerService svc(*t_.db, clock_);
  customers::CustomerInput typed;
  typed.first_name = "Inès";
  typed.last_name = "Garnier";
  typed.emails = std::vector<customers::EmailAddress>{{"ines@exemple.fr", ""}};
  auto ines = svc.create(typed, actor_);
  ASSERT_TRUE(ines) << ines.error().message;
  Importer importer(*t_.db, clock_);
  clock_.advance(60'000);
  auto fill = importer.run({.path = write_temp(GetParam() + "_rank1.csv",
                                               "E-mail;Nom;Date de naissance\r\nines@exemple.fr;Garnier;12/03/1990\r\n"),
                            .source = "boutique", .source_priority = 50},
                           actor_);
  ASSERT_TRUE(fill) << fill.error().message;
  EXPECT_EQ(svc.get(ines->id)->birth_date, "1990-03-12");  // a gap filled
  clock_.advance(60'000);
  auto crm = importer.run({.path = write_temp(GetParam() + "_rank2.csv",
                                              "E-mail;Nom;Prénom\r\nines@exemple.fr;GARNIER-ROUX;Ines\r\n"),
                           .source = "ancien-crm", .source_priority = 80},
                          actor_);
  ASSERT_TRUE(crm) << crm.error().message;
  auto after = svc.get(ines->id);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->last_name, "Garnier");  // typed by a person: priority 80 does not replace it
  EXPECT_EQ(after->first_name, "Inès");
  // Brought by the shop's file (priority 50): the old CRM's priority 80 replaces its values.
  clock_.advance(60'000);
  ASSERT_TRUE(importer.run({.path = write_temp(GetParam() + "_rank3.csv", "E-mail;Nom;Prénom\r\nzoe@exemple.fr;Petit;Zoe\r\n"),
                            .source = "boutique"},
                           actor_));
  clock_.advance(60'000);
  ASSERT_TRUE(importer.run({.path = write_temp(GetParam() + "_rank4.csv", "E-mail;Nom;Prénom\r\nzoe@exemple.fr;Petit;Zoé\r\n"),
                            .source = "ancien-crm"},
                           actor_));
  auto zoe = svc.list({.q = "zoe@exemple.fr"});
  ASSERT_TRUE(zoe && zoe->items.size() == 1);
  EXPECT_EQ(zoe->items[0].first_name, "Zoé");
}

// Emptied e-mail or phone cells of an edited export take those addresses: all of them when the
// file gives the lists whole (email and other_emails), the main one in a narrow edit.
TEST_P(ImportTest, EmptiedEmailCellsOfAnEditedExportTakeTheAddresses) {
  customers::CustomerService svc(*t_.db, clock_);
  auto make = [&](const std::string& first) {
    customers::CustomerInput in;
    in.first_name = first;
    in.last_name = "Roux";
    in.emails = std::vector<customers::EmailAddress>{{first + "@exemple.fr", ""}, {first + ".pro@exemple.fr", ""}};
    in.phones = std::vector<customers::Phone>{{.raw = first == "ana" ? "06 98 76 54 21" : "06 98 76 54 22"}};
    auto c = svc.create(in, actor_);
    EXPECT_TRUE(c) << c.error().message;
    return c->id;
  };
  const int64_t ana = make("ana"), eve = make("eve");
  clock_.advance(60'000);
  Importer importer(*t_.db, clock_);
  auto whole = importer.run({.path = write_temp(GetParam() + "_noemail1.csv",
                                                "id;first_name;last_name;email;other_emails;phone\r\n" + std::to_string(ana) +
                                                    ";ana;Roux;;;06 98 76 54 21\r\n"),
                             .source = "base", .source_priority = 100,
                             .mapping = {{"id", "customer_id"}, {"*", "guess"}}},
                            actor_);
  ASSERT_TRUE(whole) << whole.error().message;
  EXPECT_EQ(whole->updated, 1);
  auto a = svc.get(ana);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->emails.empty());
  EXPECT_EQ(a->phones.size(), 1u);
  clock_.advance(60'000);
  auto narrow = importer.run({.path = write_temp(GetParam() + "_noemail2.csv",
                                                 "id;last_name;email\r\n" + std::to_string(eve) + ";Roux;\r\n"),
                              .source = "base", .source_priority = 100,
                              .mapping = {{"id", "customer_id"}, {"*", "guess"}}},
                             actor_);
  ASSERT_TRUE(narrow) << narrow.error().message;
  auto e = svc.get(eve);
  ASSERT_TRUE(e);
  ASSERT_EQ(e->emails.size(), 1u);
  EXPECT_EQ(e->emails[0].email, "eve.pro@exemple.fr");
}

// Cells emptied in an edited export empty the fields, when the import has the rank to overwrite;
// a malformed value (flagged) or a lower-priority file empties nothing.
TEST_P(ImportTest, CellsEmptiedInAnEditedExportEmptyTheFields) {
  customers::CustomerService svc(*t_.db, clock_);
  ASSERT_TRUE(svc.define_custom_field({"pointure", "Pointure", customers::CustomFieldType::kInteger, {}}, actor_));
  auto make = [&](const std::string& first, const std::string& email) {
    customers::CustomerInput in;
    in.civility = "Mme";
    in.first_name = first;
    in.last_name = "Roux";
    in.birth_date = "1980-02-03";
    in.emails = std::vector<customers::EmailAddress>{{email, ""}};
    in.address = customers::Address{.street = "3 rue Haute", .street2 = "Bâtiment B", .postcode = "69002", .city = "Lyon",
                                    .country = "FR"};
    in.custom_fields = std::map<std::string, std::optional<customers::CustomValue>>{{"pointure", int64_t{38}}};
    auto c = svc.create(in, actor_);
    EXPECT_TRUE(c) << c.error().message;
    return c->id;
  };
  const int64_t ana = make("Ana", "ana@exemple.fr"), eve = make("Eve", "eve@exemple.fr");
  const std::string header = "id;civility;first_name;last_name;email;birth_date;street;street2;postcode;city;country;pointure\r\n";
  auto line = [](int64_t id, const std::string& rest) { return std::to_string(id) + ";" + rest + "\r\n"; };
  const std::map<std::string, std::string> mapping = {
      {"id", "customer_id"}, {"civility", "civility"}, {"first_name", "first_name"}, {"last_name", "last_name"},
      {"email", "email"},    {"birth_date", "birth_date"}, {"street", "street"},   {"street2", "street2"},
      {"postcode", "postcode"}, {"city", "city"},     {"country", "country"},    {"pointure", "pointure"}};
  // A file of a lower priority than the people who typed them: the empty cells change nothing (and
  // the customers still rank as typed by people after it: their creation was no import's).
  clock_.advance(60'000);
  Importer importer(*t_.db, clock_);
  auto low = importer.run({.path = write_temp(GetParam() + "_blank1.csv",
                                              header + line(ana, ";Ana;Roux;ana@exemple.fr;;3 rue Haute;;69002;Lyon;FR;")),
                           .source = "tableur", .source_priority = 50, .mapping = mapping},
                          actor_);
  ASSERT_TRUE(low) << low.error().message;
  auto same = svc.get(ana);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->birth_date, "1980-02-03");
  EXPECT_EQ(same->address.street2, "Bâtiment B");
  EXPECT_EQ(same->civility, "Mme");
  // The priority to overwrite: the birth date, civility, street2 and shoe size taken off are gone;
  // Eve's malformed birth date is flagged and keeps hers. A dry run says so first.
  clock_.advance(60'000);
  const std::string path = write_temp(GetParam() + "_blank2.csv",
                                      header + line(ana, ";Ana;Roux;ana@exemple.fr;;3 rue Haute;;69002;Lyon;FR;") +
                                          line(eve, "Mme;Eve;Roux;eve@exemple.fr;31/02/1980;3 rue Haute;Bâtiment B;69002;Lyon;FR;38"));
  auto dry = importer.preview({.path = path, .source = "tableur", .source_priority = 100, .mapping = mapping}, 10);
  ASSERT_TRUE(dry) << dry.error().message;
  ASSERT_EQ(dry->rows.size(), 2u);
  EXPECT_EQ(dry->rows[0].empties,
            (std::vector<std::string>{"civility", "birth_date", "street2", "custom_fields.pointure"}));
  EXPECT_TRUE(dry->rows[1].empties.empty());
  // What the import will count: Ana's row changes her, Eve's brings nothing new (unchanged).
  ASSERT_TRUE(dry->rows[0].match && dry->rows[1].match);
  EXPECT_EQ(dry->rows[0].match->changes, true);
  EXPECT_EQ(dry->rows[1].match->changes, false);
  auto dry_low = importer.preview({.path = path, .source = "tableur", .source_priority = 50, .mapping = mapping}, 10);
  ASSERT_TRUE(dry_low);
  EXPECT_TRUE(dry_low->rows[0].empties.empty());  // it may not overwrite what people typed
  auto edited = importer.run({.path = path, .source = "tableur", .source_priority = 100, .mapping = mapping}, actor_);
  ASSERT_TRUE(edited) << edited.error().message;
  EXPECT_EQ(edited->updated, 1);
  EXPECT_EQ(edited->unchanged, 1);
  auto a = svc.get(ana);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->birth_date);
  EXPECT_FALSE(a->civility);
  EXPECT_FALSE(a->address.street2);
  EXPECT_EQ(a->address.street, "3 rue Haute");
  EXPECT_EQ(a->address.city, "Lyon");
  EXPECT_EQ(a->first_name, "Ana");
  EXPECT_FALSE(a->custom_fields.contains("pointure"));
  auto e = svc.get(eve);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->birth_date, "1980-02-03");
  EXPECT_EQ(e->custom_fields.at("pointure"), customers::CustomValue(int64_t{38}));
  // A dry run of the same file again empties nothing: those fields are empty already.
  auto dry_again = importer.preview({.path = path, .source = "tableur", .source_priority = 100, .mapping = mapping}, 10);
  ASSERT_TRUE(dry_again) << dry_again.error().message;
  EXPECT_TRUE(dry_again->rows[0].empties.empty());
  ASSERT_TRUE(dry_again->rows[0].match);
  EXPECT_EQ(dry_again->rows[0].match->changes, false);  // the same file again: nothing new
  // A column the file does not have empties nothing: Ana's e-mail alone names her now.
  clock_.advance(60'000);
  auto narrow = importer.run({.path = write_temp(GetParam() + "_blank3.csv", "id;last_name\r\n" + line(ana, "Rousse")),
                              .source = "tableur", .source_priority = 100,
                              .mapping = {{"id", "customer_id"}, {"last_name", "last_name"}}},
                             actor_);
  ASSERT_TRUE(narrow) << narrow.error().message;
  a = svc.get(ana);
  EXPECT_EQ(a->last_name, "Rousse");
  EXPECT_EQ(a->first_name, "Ana");
  EXPECT_EQ(a->address.city, "Lyon");
}

// Household members and affinities go through a CSV export and back, into another base and, edited,
// into their own.
TEST_P(ImportTest, HouseholdAndAffinitiesRoundTripThroughACsvExport) {
  customers::CustomerService svc(*t_.db, clock_);
  customers::CustomerInput in;
  in.first_name = "Ana";
  in.last_name = "Roux";
  in.emails = std::vector<customers::EmailAddress>{{"ana@exemple.fr", ""}};
  in.household = std::vector<customers::HouseholdMember>{{"enfant", "Léa", "2015-04-02"}, {"conjoint", "Marc", std::nullopt},
                                                        {"enfant", std::nullopt, "2019-01-31"}};
  in.affinities = std::vector<customers::Affinity>{{"jardin", 80}, {"cuisine", 50}, {"fruits, légumes", 40}};
  auto made = svc.create(in, actor_);
  ASSERT_TRUE(made) << made.error().message;
  std::string csv;
  ASSERT_TRUE(export_customers(*t_.db, ExportFormat::kCsvExcelFr, false, [&](std::string_view c) -> Status {
    csv += c;
    return ok();
  }));
  EXPECT_NE(csv.find(";enfant:Léa:2015-04-02|conjoint:Marc|enfant::2019-01-31;jardin:80|cuisine:50|fruits, légumes:40;"),
            std::string::npos)
      << csv;
  auto other = storage::testing::make_test_db("sqlite");
  customers::CustomerService back(*other.db, clock_);
  Importer elsewhere(*other.db, clock_);
  ASSERT_TRUE(elsewhere.run({.path = write_temp(GetParam() + "_hh1.csv", csv), .source = "export"}, actor_));
  auto copy = back.get(1);
  ASSERT_TRUE(copy);
  EXPECT_EQ(copy->household.size(), 3u);
  ASSERT_EQ(copy->affinities.size(), 3u);
  EXPECT_EQ(copy->affinities[0].category, "jardin");
  EXPECT_EQ(copy->affinities[0].strength, 80);
  EXPECT_EQ(copy->affinities[2].category, "fruits, légumes");
  // Edited and read back: Marc taken off, the kitchen now stronger than the garden.
  size_t at = csv.find("|conjoint:Marc");
  ASSERT_NE(at, std::string::npos);
  csv.erase(at, 14);
  at = csv.find("jardin:80|cuisine:50");
  ASSERT_NE(at, std::string::npos);
  csv.replace(at, 20, "jardin:80|cuisine:90");
  Importer importer(*t_.db, clock_);
  auto r = importer.run({.path = write_temp(GetParam() + "_hh2.csv", csv), .source = "excel", .source_priority = 100,
                         .mapping = {{"id", "customer_id"}, {"last_name", "last_name"}, {"email", "email"},
                                     {"household", "household"}, {"affinities", "affinities"}}},
                        actor_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->updated, 1);
  auto edited = svc.get(made->id);
  ASSERT_TRUE(edited);
  ASSERT_EQ(edited->household.size(), 2u);
  for (const auto& m : edited->household) EXPECT_EQ(m.relation, "enfant");
  ASSERT_EQ(edited->affinities.size(), 3u);
  EXPECT_EQ(edited->affinities[0].category, "cuisine");  // strongest first
  EXPECT_EQ(edited->affinities[0].strength, 90);
  // The same file again changes nothing.
  clock_.advance(60'000);
  auto again = importer.run({.path = write_temp(GetParam() + "_hh3.csv", csv), .source = "excel", .source_priority = 100,
                             .mapping = {{"id", "customer_id"}, {"last_name", "last_name"}, {"email", "email"},
                                         {"household", "household"}, {"affinities", "affinities"}}},
                            actor_);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->unchanged, 1);
  // A member's birth date mistyped: the household stays as it is (flagged), nothing is lost.
  const std::map<std::string, std::string> lists = {{"id", "customer_id"}, {"last_name", "last_name"}, {"email", "email"},
                                                    {"household", "household"}, {"affinities", "affinities"}};
  std::string typo = csv;
  at = typo.find("enfant:Léa:2015-04-02");
  ASSERT_NE(at, std::string::npos);
  typo.replace(at, 21, "enfant:Léa:2015-13-45");
  clock_.advance(60'000);
  ASSERT_TRUE(importer.run({.path = write_temp(GetParam() + "_hh4.csv", typo), .source = "excel", .source_priority = 100,
                            .mapping = lists},
                           actor_));
  auto kept = svc.get(made->id);
  ASSERT_EQ(kept->household.size(), 2u);
  EXPECT_EQ(kept->household[0].birth_date, "2015-04-02");
  // The affinities cell emptied: none left.
  std::string emptied = csv;
  at = emptied.find("jardin:80|cuisine:90|fruits, légumes:40");
  ASSERT_NE(at, std::string::npos);
  emptied.erase(at, std::string_view("jardin:80|cuisine:90|fruits, légumes:40").size());
  clock_.advance(60'000);
  ASSERT_TRUE(importer.run({.path = write_temp(GetParam() + "_hh5.csv", emptied), .source = "excel", .source_priority = 100,
                            .mapping = lists},
                           actor_));
  auto none = svc.get(made->id);
  EXPECT_TRUE(none->affinities.empty());
  EXPECT_EQ(none->household.size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Drivers, ImportTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fidelis::imports
