#pragma once
// The `fidelis` command line: parses subcommands and runs them. `serve` wires config -> Db ->
// services -> API -> server.

#include <string>

#include "core/config.h"
#include "merging/merging.h"
#include "mail/mail.h"

namespace fidelis::app {

int run(int argc, char** argv);
// Runs the server until SIGTERM/SIGINT. Applies pending migrations first.
int serve(const Config& config);
// Thresholds and survivorship rules from the configuration. InvalidArgument naming the key.
Result<merging::Options> merge_options(const Config& config);
// The mail module's options from the configuration (smtp_*, mail_*).
mail::MailOptions mail_options(const Config& config);
// The DNS check of e-mail domains, or null when email.mx_check is off.
std::unique_ptr<MxChecker> mx_checker(const Config& config);

}  // namespace fidelis::app
