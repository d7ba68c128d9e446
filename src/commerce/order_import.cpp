// `fidelis import orders FILE`: order history from a CSV file, one line per order line, the lines
// of an order consecutive. Reading (encodings, delimiters, quoting) is imports::CsvSource's.

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "commerce/commerce.h"
#include "commerce/commerce_internal.h"
#include "core/text.h"
#include "imports/imports.h"

namespace fidelis::commerce {

namespace {

enum class Col {
  kNumber, kPlacedAt, kCustomerId, kEmail, kFirstName, kLastName, kPhone, kChannel, kCurrency, kStatus, kPayment,
  kDeliveryMethod, kStreet, kPostcode, kCity, kCountry, kSku, kName, kQuantity, kUnitPrice, kLineDiscount, kShipping,
  kOrderDiscount, kCount
};

// Header names (after folding: lower-case, no accents, '_' for blanks and dashes) per column.
const std::map<std::string, Col>& header_names() {
  static const std::map<std::string, Col> names = {
      {"order_number", Col::kNumber}, {"numero_commande", Col::kNumber}, {"n_commande", Col::kNumber}, {"commande", Col::kNumber},
      {"order", Col::kNumber}, {"number", Col::kNumber}, {"placed_at", Col::kPlacedAt}, {"date", Col::kPlacedAt},
      {"date_commande", Col::kPlacedAt}, {"order_date", Col::kPlacedAt}, {"customer_id", Col::kCustomerId},
      {"id_client", Col::kCustomerId}, {"email", Col::kEmail}, {"e_mail", Col::kEmail}, {"mail", Col::kEmail},
      {"courriel", Col::kEmail}, {"first_name", Col::kFirstName}, {"prenom", Col::kFirstName}, {"last_name", Col::kLastName},
      {"nom", Col::kLastName}, {"phone", Col::kPhone}, {"telephone", Col::kPhone}, {"tel", Col::kPhone},
      {"channel", Col::kChannel}, {"canal", Col::kChannel}, {"currency", Col::kCurrency}, {"devise", Col::kCurrency},
      {"status", Col::kStatus}, {"statut", Col::kStatus}, {"payment_state", Col::kPayment}, {"paiement", Col::kPayment},
      {"delivery_method", Col::kDeliveryMethod}, {"mode_livraison", Col::kDeliveryMethod}, {"livraison", Col::kDeliveryMethod},
      {"street", Col::kStreet}, {"adresse", Col::kStreet}, {"rue", Col::kStreet}, {"postcode", Col::kPostcode},
      {"code_postal", Col::kPostcode}, {"cp", Col::kPostcode}, {"zip", Col::kPostcode}, {"city", Col::kCity},
      {"ville", Col::kCity}, {"country", Col::kCountry}, {"pays", Col::kCountry}, {"sku", Col::kSku},
      {"reference", Col::kSku}, {"ref", Col::kSku}, {"name", Col::kName}, {"product_name", Col::kName},
      {"produit", Col::kName}, {"libelle", Col::kName}, {"designation", Col::kName}, {"quantity", Col::kQuantity},
      {"quantite", Col::kQuantity}, {"qte", Col::kQuantity}, {"unit_price", Col::kUnitPrice}, {"prix_unitaire", Col::kUnitPrice},
      {"prix", Col::kUnitPrice}, {"line_discount", Col::kLineDiscount}, {"remise_ligne", Col::kLineDiscount},
      {"remise", Col::kLineDiscount}, {"shipping", Col::kShipping}, {"frais_de_port", Col::kShipping}, {"port", Col::kShipping},
      {"order_discount", Col::kOrderDiscount}, {"remise_commande", Col::kOrderDiscount}};
  return names;
}

std::string fold_header(std::string_view h) {
  std::string k = text::search_key(text::trim(h));
  for (char& c : k)
    if (c == ' ' || c == '-' || c == '.' || c == '\'') c = '_';
  return k;
}

// "12,50", "12.50", "1 290,00", "12" -> minor units. nullopt when it is not an amount.
std::optional<int64_t> parse_amount(std::string_view s) {
  std::string t;
  for (char c : text::trim(s))
    if (c != ' ') t += c;
  // A no-break space (U+00A0) between thousands, as French spreadsheets write it.
  for (size_t p; (p = t.find("\xC2\xA0")) != std::string::npos;) t.erase(p, 2);
  if (t.empty() || t.size() > 15) return std::nullopt;
  size_t sep = t.find_first_of(",.");
  std::string units = t.substr(0, sep), cents = sep == std::string::npos ? "" : t.substr(sep + 1);
  auto digits = [](const std::string& x) { return x.find_first_not_of("0123456789") == std::string::npos; };
  if (units.empty() || !digits(units) || !digits(cents) || cents.size() > 2) return std::nullopt;
  while (cents.size() < 2) cents += '0';
  return std::stoll(units) * 100 + std::stoll(cents);
}

std::optional<int64_t> parse_count(std::string_view s) {
  std::string t(text::trim(s));
  if (t.empty() || t.size() > 9 || t.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(t);
}

struct Reject {
  int64_t line = 0;
  std::string column, reason, number;
  std::string original;  // the line as the file has it
};

// One order being read: its lines' records.
struct Group {
  std::string number;
  std::vector<imports::CsvRecord> records;
  std::optional<std::string> broken;  // a line of the order could not be read: why (the order is rejected)
};

}  // namespace

Result<OrderImportStats> import_orders(storage::Db& db, const Clock& clock, const OrderImportOptions& options,
                                       const audit::Actor& actor) {
  FIDELIS_ASSIGN_OR_RETURN(std::unique_ptr<imports::CsvSource> src, imports::CsvSource::open(options.path));
  OrderImportStats stats;
  stats.encoding = src->dialect().encoding;
  stats.delimiter = src->dialect().delimiter;
  stats.rejects_path = options.rejects_path.empty() ? options.path + ".rejects.csv" : options.rejects_path;
  std::string source = text::to_lower(text::trim(options.source));
  if (source.empty() || source.size() > 60) return Error::invalid_argument("source", "must be 1 to 60 characters");

  FIDELIS_ASSIGN_OR_RETURN(std::optional<imports::CsvRecord> head, src->next());
  if (!head) return Error::invalid_argument("header", "the file is empty");
  std::vector<std::optional<Col>> cols;
  std::map<Col, std::string> header_of;  // for rejects: the file's own header text
  for (const auto& h : head->fields) {
    auto it = header_names().find(fold_header(h));
    if (it != header_names().end() && !header_of.contains(it->second)) {
      cols.push_back(it->second);
      header_of[it->second] = h;
    } else {
      cols.push_back(std::nullopt);
    }
  }
  for (Col required : {Col::kNumber, Col::kSku, Col::kQuantity})
    if (!header_of.contains(required)) {
      static const std::map<Col, std::string_view> names = {{Col::kNumber, "order_number"}, {Col::kSku, "sku"}, {Col::kQuantity, "quantity"}};
      return Error::invalid_argument("header", fmt::format("the file has no {} column", names.at(required)));
    }
  auto column_name = [&](Col c) { return header_of.contains(c) ? header_of[c] : std::string(); };
  const char delimiter = src->dialect().delimiter;
  auto original = [delimiter](const imports::CsvRecord& r) { return r.raw.empty() ? imports::csv_line(r.fields, delimiter) : r.raw; };

  std::vector<Reject> rejects;
  std::set<std::string> seen;  // order numbers already read: their lines must be consecutive
  Millis now = clock.now();

  auto field = [&](const imports::CsvRecord& r, Col c) -> std::optional<std::string> {
    for (size_t i = 0; i < cols.size() && i < r.fields.size(); ++i)
      if (cols[i] == c) {
        std::string v(text::trim(r.fields[i]));
        if (v.empty()) return std::nullopt;
        return v;
      }
    return std::nullopt;
  };

  // Builds the order of a group; on error returns the reject of the offending line.
  auto build = [&](const Group& g) -> std::variant<OrderInput, Reject> {
    OrderInput in;
    in.number = g.number;
    in.source = source;
    const auto& first = g.records.front();
    auto bad = [&](const imports::CsvRecord& r, Col c, std::string reason) {
      return Reject{r.line, column_name(c), std::move(reason), g.number};
    };
    if (auto v = field(first, Col::kCustomerId)) {
      auto id = parse_count(*v);
      if (!id || *id == 0) return bad(first, Col::kCustomerId, "expected a customer id");
      in.customer.customer_id = *id;
    }
    in.customer.email = field(first, Col::kEmail);
    in.customer.first_name = field(first, Col::kFirstName);
    in.customer.last_name = field(first, Col::kLastName);
    in.customer.phone = field(first, Col::kPhone);
    in.channel = field(first, Col::kChannel);
    in.currency = field(first, Col::kCurrency);
    if (!in.currency) in.currency = options.default_currency;
    in.status = field(first, Col::kStatus);
    in.payment_state = field(first, Col::kPayment);
    in.delivery_method = field(first, Col::kDeliveryMethod);
    in.address.street = field(first, Col::kStreet);
    in.address.postcode = field(first, Col::kPostcode);
    in.address.city = field(first, Col::kCity);
    in.address.country = field(first, Col::kCountry);
    // Shop exports write the country's name ("France", "Belgique"), as customer files do.
    if (in.address.country && !customers::is_country_code(text::to_upper(*in.address.country)))
      if (auto code = customers::country_from_name(*in.address.country)) in.address.country = *code;
    if (in.customer.first_name || in.customer.last_name)
      in.address.name = fmt::format("{} {}", in.customer.first_name.value_or(""), in.customer.last_name.value_or(""));
    if (auto v = field(first, Col::kPlacedAt)) {
      auto at = parse_iso8601(*v, "placed_at");
      if (!at) {
        auto d = parse_date_flexible(*v, "placed_at", now);
        if (!d) return bad(first, Col::kPlacedAt, "expected a date such as 2025-03-01 or 01/03/2025");
        at = parse_iso8601(d->to_string(), "placed_at");
      }
      in.placed_at = *at;
    }
    for (auto [c, target] : {std::pair{Col::kShipping, &in.shipping_minor}, std::pair{Col::kOrderDiscount, &in.order_discount_minor}})
      if (auto v = field(first, c)) {
        auto a = parse_amount(*v);
        if (!a) return bad(first, c, "expected an amount such as 12,50");
        *target = *a;
      }
    for (const auto& r : g.records) {
      OrderLineInput l;
      l.sku = field(r, Col::kSku).value_or("");
      if (l.sku.empty()) return bad(r, Col::kSku, "is empty");
      l.name = field(r, Col::kName);
      auto q = field(r, Col::kQuantity);
      auto qn = q ? parse_count(*q) : std::nullopt;
      if (!qn || *qn == 0) return bad(r, Col::kQuantity, "expected a whole number of at least 1");
      l.quantity = *qn;
      if (auto v = field(r, Col::kUnitPrice)) {
        auto a = parse_amount(*v);
        if (!a) return bad(r, Col::kUnitPrice, "expected an amount such as 12,50");
        l.unit_price_minor = *a;
      }
      if (auto v = field(r, Col::kLineDiscount)) {
        auto a = parse_amount(*v);
        if (!a) return bad(r, Col::kLineDiscount, "expected an amount such as 12,50");
        l.discount_minor = *a;
      }
      in.lines.push_back(std::move(l));
    }
    return in;
  };

  // The column an error's field came from, and the line it is on.
  auto reject_for = [&](const Group& g, const Error& e) {
    static const std::map<std::string, Col> by_field = {
        {"customer_id", Col::kCustomerId}, {"customer.email", Col::kEmail}, {"customer.first_name", Col::kFirstName},
        {"customer.last_name", Col::kLastName}, {"customer.phone", Col::kPhone}, {"customer", Col::kEmail},
        {"channel", Col::kChannel}, {"currency", Col::kCurrency}, {"status", Col::kStatus}, {"payment_state", Col::kPayment},
        {"delivery_method", Col::kDeliveryMethod}, {"delivery_address.street", Col::kStreet},
        {"delivery_address.postcode", Col::kPostcode}, {"delivery_address.city", Col::kCity},
        {"delivery_address.country", Col::kCountry}, {"placed_at", Col::kPlacedAt},
        {"shipping_minor", Col::kShipping}, {"order_discount_minor", Col::kOrderDiscount}, {"number", Col::kNumber},
        {"sku", Col::kSku}, {"name", Col::kName}, {"quantity", Col::kQuantity}, {"unit_price_minor", Col::kUnitPrice},
        {"discount_minor", Col::kLineDiscount}};
    const imports::CsvRecord* rec = &g.records.front();
    std::string f = e.field;
    int idx = -1;
    if (std::sscanf(f.c_str(), "lines[%d]", &idx) == 1 && idx >= 0 && static_cast<size_t>(idx) < g.records.size()) {
      rec = &g.records[static_cast<size_t>(idx)];
      f = f.substr(f.find("].") == std::string::npos ? f.size() : f.find("].") + 2);
    }
    auto it = by_field.find(f);
    std::string column = it != by_field.end() ? column_name(it->second) : "";
    return Reject{rec->line, column.empty() ? e.field : column, e.message, g.number};
  };

  // The header of the column where an unreadable line's reading failed.
  auto broken_column = [&](const imports::CsvRecord& r) {
    return r.malformed_column < head->fields.size() ? head->fields[r.malformed_column] : std::string();
  };
  OrdersOptions orders_options;
  orders_options.match_model = options.match_model;
  OrderService orders(db, clock, {}, orders_options);  // one for the file
  auto flush = [&](Group& g) -> Status {
    if (g.records.empty()) return ok();
    std::optional<Reject> rej;
    std::variant<OrderInput, Reject> built = Reject{};
    if (g.broken) {
      // Its own unreadable line is the reason when it has one; else the neighbouring line's.
      rej = Reject{g.records.front().line, "", *g.broken, g.number};
      for (const auto& r : g.records)
        if (r.malformed) rej = Reject{r.line, broken_column(r), *r.malformed, g.number};
    } else if (built = build(g); auto* r = std::get_if<Reject>(&built)) {
      rej = *r;
    } else {
      bool created = false;
      Status s = db.transact([&](storage::Tx& tx) -> Status {
        FIDELIS_ASSIGN_OR_RETURN(CreatedOrder c, orders.create_in(tx, std::get<OrderInput>(built), now));
        created = c.created;
        return ok();
      });
      if (!s && (s.error().code == Code::kUnavailable || s.error().code == Code::kInternal)) return s.error();
      if (!s) rej = reject_for(g, s.error());
      else if (created) ++stats.orders_created;
      else ++stats.orders_existing;
    }
    if (rej) {
      ++stats.orders_rejected;
      for (const auto& r : g.records) {
        ++stats.lines_rejected;
        if (r.line == rej->line) {
          rejects.push_back(*rej);
          rejects.back().original = original(r);
        } else {
          rejects.push_back({r.line, "", fmt::format("the order was rejected (line {}: {})", rej->line, rej->reason), g.number,
                             original(r)});
        }
      }
    }
    g = Group{};
    return ok();
  };

  Group group;
  // A line that cannot be read, and whose order number cannot be read either, may belong to the
  // order before it or to the one after: both are rejected rather than imported without it.
  std::optional<std::string> poison_next;
  for (;;) {
    FIDELIS_ASSIGN_OR_RETURN(std::optional<imports::CsvRecord> rec, src->next());
    if (!rec) break;
    if (rec->malformed) {
      ++stats.lines_read;
      std::string number = field(*rec, Col::kNumber).value_or("");
      std::string why = fmt::format("line {} of the file could not be read", rec->line);
      if (number.empty()) {
        rejects.push_back({rec->line, broken_column(*rec), *rec->malformed, "", original(*rec)});
        ++stats.lines_rejected;
        if (!group.records.empty()) group.broken = why;
        poison_next = why;
        continue;
      }
      if (number != group.number) {
        FIDELIS_RETURN_IF_ERROR(flush(group));
        seen.insert(number);
        group.number = number;
      }
      group.broken = why;
      group.records.push_back(std::move(*rec));
      continue;
    }
    if (std::all_of(rec->fields.begin(), rec->fields.end(), [](const std::string& f) { return text::trim(f).empty(); })) continue;
    ++stats.lines_read;
    std::string number = field(*rec, Col::kNumber).value_or("");
    if (rec->fields.size() > cols.size()) {
      rejects.push_back(
          {rec->line, "", fmt::format("{} fields but the header has {}", rec->fields.size(), cols.size()), number, original(*rec)});
      ++stats.lines_rejected;
      continue;
    }
    if (number.empty()) {
      rejects.push_back({rec->line, column_name(Col::kNumber), "is empty", number, original(*rec)});
      ++stats.lines_rejected;
      continue;
    }
    if (number != group.number) {
      FIDELIS_RETURN_IF_ERROR(flush(group));
      if (seen.contains(number)) {
        rejects.push_back({rec->line, column_name(Col::kNumber),
                           "the lines of an order must be consecutive; this order was read already", number, original(*rec)});
        ++stats.lines_rejected;
        continue;
      }
      seen.insert(number);
      group.number = number;
      if (poison_next) group.broken = *poison_next;
    }
    poison_next.reset();
    group.records.push_back(std::move(*rec));
  }
  FIDELIS_RETURN_IF_ERROR(flush(group));

  if (!rejects.empty()) {
    std::FILE* out = std::fopen(stats.rejects_path.c_str(), "wb");
    if (out == nullptr) return Error::invalid_argument("rejects", "cannot write " + stats.rejects_path);
    // As the customers' rejects: a ';' file came from French Excel, and its rejects open there
    // directly (BOM, ';', no cell read as a formula).
    std::stable_sort(rejects.begin(), rejects.end(), [](const Reject& a, const Reject& b) { return a.line < b.line; });
    const bool excel = delimiter == ';';
    const char out_delim = excel ? ';' : ',';
    std::string header[] = {"line", "column", "reason", "order_number", "original"};
    std::string text = (excel ? "\xEF\xBB\xBF" : "") + imports::csv_line(header, out_delim) + "\r\n";
    for (const auto& r : rejects) {
      std::string fields[] = {std::to_string(r.line), r.column, r.reason, r.number, r.original};
      if (excel)
        for (std::string& f : fields) f = imports::spreadsheet_text(std::move(f));
      text += imports::csv_line(fields, out_delim) + "\r\n";
    }
    bool wrote = std::fwrite(text.data(), 1, text.size(), out) == text.size();
    std::fclose(out);
    if (!wrote) return Error::unavailable("cannot write the rejects file (disk full?)");
  } else {
    stats.rejects_path.clear();
  }
  FIDELIS_RETURN_IF_ERROR(db.transact([&](storage::Tx& tx) -> Status {
    return audit::record(tx, actor,
                         {"orders.import", "order_import", source, std::nullopt,
                          fmt::format(R"({{"file":{},"created":{},"existing":{},"rejected":{}}})", internal::json_quoted(options.path),
                                      stats.orders_created, stats.orders_existing, stats.orders_rejected)},
                         now);
  }));
  return stats;
}

}  // namespace fidelis::commerce
