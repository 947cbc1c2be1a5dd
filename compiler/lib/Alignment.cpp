#include "Alignment.h"

#include "SourceUtils.h"

#include <clang/Basic/SourceManager.h>
#include <clang/Lex/Lexer.h>
#include <clang/Lex/PPCallbacks.h>
#include <clang/Lex/Preprocessor.h>
#include <clang/Lex/Token.h>
#include <fmt/format.h>
#include <llvm/ADT/StringExtras.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/raw_ostream.h>

#include <memory>

using namespace clang;

namespace dsu {

void TokenRecorder::operator()(const Token &tok) {
  // Annotation tokens are the parser's own; -E shows pragmas as directives.
  if (tok.isAnnotation() || tok.is(tok::eof))
    return;
  if (tokens.empty())
    tokens.reserve(1 << 18); // a kernel unit has some 300 000
  tokens.push_back({tok.getLocation(), tok.getLength(), tok.needsCleaning()});
}

SourceLocation TokenMap::lookup(const SourceManager &sm, SourceLocation astLoc) const {
  auto it = offsets.find(astLoc.getRawEncoding());
  if (it == offsets.end())
    return {};
  return sm.getComposedLoc(file, it->second);
}

UnitPrinter::UnitPrinter(Preprocessor &pp) : pp_(pp), sm_(pp.getSourceManager()) {
  prev_.startToken();
  printed_.reserve(1 << 19); // a kernel unit has some 300 000 tokens
}

UnitPrinter::~UnitPrinter() = default;

void UnitPrinter::install() {
  // What the preprocessor consumes without leaving a token: -E prints these
  // as directives, and the compile of the text needs them.
  struct Watch : PPCallbacks {
    UnitPrinter &printer;
    explicit Watch(UnitPrinter &p) : printer(p) {}
    void PragmaDirective(SourceLocation loc, PragmaIntroducerKind) override {
      if (!printer.preprocessorOnlyPragma(loc))
        printer.setUnprintable("a pragma", loc);
    }
    void Ident(SourceLocation loc, StringRef) override { printer.setUnprintable("an #ident", loc); }
  };
  pp_.addPPCallbacks(std::make_unique<Watch>(*this));
}

// The words naming the pragma at `loc` (a `#pragma` or `_Pragma("...")`),
// like "push_macro" or "GCC diagnostic"; empty when its text is not there.
static std::string pragmaName(const SourceManager &sm, SourceLocation loc) {
  bool invalid = false;
  const char *data = sm.getCharacterData(sm.getSpellingLoc(loc), &invalid);
  if (invalid || !data)
    return "";
  llvm::StringRef text = llvm::StringRef(data).take_until([](char c) { return c == '\n'; });
  text = text.ltrim();
  if (text.consume_front("#")) {
    text = text.ltrim();
    if (!text.consume_front("pragma"))
      return "";
  } else if (text.consume_front("_Pragma")) {
    text = text.ltrim();
    if (!text.consume_front("("))
      return "";
    text = text.ltrim();
    if (!text.consume_front("\""))
      return "";
  } else {
    return "";
  }
  auto word = [&text]() {
    text = text.ltrim();
    llvm::StringRef w = text.take_while([](char c) { return llvm::isAlnum(c) || c == '_'; });
    text = text.drop_front(w.size());
    return w.str();
  };
  std::string first = word();
  if (first == "GCC" || first == "clang")
    return first + " " + word();
  return first;
}

// Pragmas whose whole effect is on the preprocessor's or the diagnostics'
// state: the printed tokens already carry the first, the parse has reported
// the second, and the compile of the text shows no warnings. clang's own
// predefines push and pop macros this way.
bool UnitPrinter::preprocessorOnlyPragma(SourceLocation loc) const {
  static const char *const names[] = {
      "once",           "push_macro",        "pop_macro",          "include_alias",
      "mark",           "region",            "endregion",          "message",
      "GCC poison",     "clang poison",      "GCC system_header",  "clang system_header",
      "GCC dependency", "GCC diagnostic",    "clang diagnostic",   "GCC warning",
      "GCC error",      "clang max_tokens_here", "clang final",    "clang deprecated",
      "clang restrict_expansion"};
  const std::string name = pragmaName(sm_, loc);
  for (const char *n : names)
    if (name == n)
      return true;
  return false;
}

void UnitPrinter::start() {
  // The first line names the main file, as -E's does: a compile of the text
  // takes the unit's name for debug info from it.
  PresumedLoc main = sm_.getPresumedLoc(sm_.getLocForStartOfFile(sm_.getMainFileID()));
  file_ = main.isValid() ? main.getFilename() : "";
  line_ = 1;
  llvm::raw_string_ostream os(text_);
  os << "# 1 \"";
  os.write_escaped(file_);
  os << "\"\n";
}

void UnitPrinter::setUnprintable(const char *what, SourceLocation loc) {
  if (!unprintable_.empty())
    return;
  PresumedLoc p = presumedLoc(sm_, loc);
  unprintable_ = p.isValid() ? fmt::format("{} at {}:{}", what, p.getFilename(), p.getLine())
                             : std::string(what);
  bool invalid = false;
  const char *text = sm_.getCharacterData(sm_.getSpellingLoc(loc), &invalid);
  if (!invalid && text)
    unprintable_ += fmt::format(" ('{}')", llvm::StringRef(text).take_until([](char c) {
                                  return c == '\n';
                                }).take_front(60).str());
}

// Starts a new output line for the first token of a source line: newlines
// while the gap is small, a line marker otherwise (the same choice -E makes).
void UnitPrinter::moveToLine(SourceLocation loc, bool hasLeadingSpace, bool isHash) {
  SourceLocation at = sm_.getExpansionLoc(loc);
  PresumedLoc p = sm_.getPresumedLoc(at);
  if (p.isInvalid()) {
    text_ += ' ';
    return;
  }
  const unsigned line = p.getLine();
  if (file_ == p.getFilename() && line > line_ && line - line_ <= 8) {
    text_.append(line - line_, '\n');
  } else if (!(file_ == p.getFilename() && line == line_ && !lineHasTokens_)) {
    if (lineHasTokens_ || (!text_.empty() && text_.back() != '\n'))
      text_ += '\n';
    file_ = p.getFilename();
    llvm::raw_string_ostream os(text_);
    os << "# " << line << " \"";
    os.write_escaped(file_);
    os << '"';
    SrcMgr::CharacteristicKind kind = sm_.getFileCharacteristic(at);
    if (kind == SrcMgr::C_System)
      os << " 3";
    else if (kind == SrcMgr::C_ExternCSystem)
      os << " 3 4";
    os << '\n';
  }
  line_ = line;
  lineHasTokens_ = false;
  unsigned column = p.getColumn();
  // As -E: a first token in column 1 that had space before it (an empty
  // macro argument) moves to column 2, and a '#' never starts a line, where
  // the compile of the text would take it for a directive.
  if (column <= 1 && (hasLeadingSpace || isHash))
    column = 2;
  text_.append(column > 1 ? column - 1 : 0, ' ');
}

// Whether `prev` and `tok`, printed without a space, could lex as something
// else: two words (`int x`, `L "s"`), two operators (`+ +`, `/ /`), a
// number and what could extend it (`1 .`, `1e +`, `. 5`). Brackets, commas
// and semicolons join nothing. (TokenConcatenation decides exactly, but
// looks up both tokens' spellings: a tenth of the parse on kernel units.)
static bool mayJoin(const Token &prev, const Token &tok) {
  auto separator = [](const Token &t) {
    return t.isOneOf(tok::l_paren, tok::r_paren, tok::l_square, tok::r_square, tok::l_brace,
                     tok::r_brace, tok::comma, tok::semi);
  };
  const bool prevPunct = tok::getPunctuatorSpelling(prev.getKind()) != nullptr;
  const bool punct = tok::getPunctuatorSpelling(tok.getKind()) != nullptr;
  if (!prevPunct && !punct)
    return true;
  if (prevPunct && punct)
    return !separator(prev) && !separator(tok);
  if (punct) // a word, then an operator
    return prev.is(tok::numeric_constant) &&
           tok.isOneOf(tok::period, tok::ellipsis, tok::plus, tok::plusplus, tok::plusequal,
                       tok::minus, tok::minusminus, tok::minusequal, tok::arrow);
  return prev.isOneOf(tok::period, tok::ellipsis) && tok.is(tok::numeric_constant);
}

void UnitPrinter::operator()(const Token &tok) {
  if (tok.is(tok::eof))
    return;
  if (tok.isAnnotation()) {
    setUnprintable("an annotation token (#embed, a module import or a pragma)", tok.getLocation());
    return;
  }
  if (text_.empty())
    start();
  if (tok.isAtStartOfLine() || printed_.empty())
    moveToLine(tok.getLocation(), tok.hasLeadingSpace(), tok.is(tok::hash));
  else if (tok.hasLeadingSpace() || (lineHasTokens_ && mayJoin(prev_, tok)))
    text_ += ' ';
  printed_.push_back({tok.getLocation(), static_cast<unsigned>(text_.size()), tok.getLength(),
                      tok.needsCleaning()});
  // The spelling without a SourceManager lookup where the token has it.
  const IdentifierInfo *ii = tok.getIdentifierInfo();
  const char *punct = tok::getPunctuatorSpelling(tok.getKind());
  if (ii && !tok.hasUCN()) {
    text_ += ii->getName();
  } else if (tok.isLiteral() && tok.getLiteralData() && !tok.needsCleaning()) {
    text_.append(tok.getLiteralData(), tok.getLength());
  } else if (punct && !tok.needsCleaning()) {
    text_ += punct; // a digraph prints as what it stands for
  } else {
    llvm::SmallString<64> buffer;
    text_ += pp_.getSpelling(tok, buffer);
  }
  lineHasTokens_ = true;
  prev_ = tok;
}

void UnitPrinter::finish(SourceManager &sm, TokenMap &out) {
  if (text_.empty())
    start();
  text_ += '\n';
  out.file = sm.createFileID(llvm::MemoryBuffer::getMemBufferCopy(text_, "<preprocessed>"));
  out.offsets.reserve(printed_.size());
  for (const Printed &p : printed_)
    out.offsets[p.loc.getRawEncoding()] = p.offset;
}

TokenRecorder UnitPrinter::recorded() const {
  TokenRecorder r;
  r.tokens.reserve(printed_.size());
  for (const Printed &p : printed_)
    r.tokens.push_back({p.loc, p.length, static_cast<bool>(p.needsCleaning)});
  return r;
}

bool alignPreprocessed(SourceManager &sm, const LangOptions &lo, llvm::StringRef preprocessed,
                       const TokenRecorder &recorded, TokenMap &out, std::string &error) {
  out.file = sm.createFileID(llvm::MemoryBuffer::getMemBufferCopy(preprocessed, "<preprocessed>"));
  llvm::StringRef text = sm.getBufferData(out.file);
  Lexer lex(sm.getLocForStartOfFile(out.file), lo, text.begin(), text.begin(), text.end());
  lex.SetCommentRetentionState(false);
  out.offsets.reserve(recorded.tokens.size());
  size_t i = 0;
  Token tok;
  bool inDirective = false;
  while (!lex.LexFromRawLexer(tok) || tok.isNot(tok::eof)) {
    if (tok.is(tok::eof))
      break;
    if (tok.isAtStartOfLine())
      inDirective = tok.is(tok::hash);
    if (inDirective)
      continue;
    unsigned offset = sm.getFileOffset(tok.getLocation());
    if (i == recorded.tokens.size()) {
      error = fmt::format("preprocessed text has more tokens than the parse (offset {})", offset);
      return false;
    }
    const TokenRecorder::Entry &e = recorded.tokens[i];
    llvm::StringRef got = text.substr(offset, tok.getLength());
    if (!e.needsCleaning) {
      bool invalid = false;
      const char *spelled = sm.getCharacterData(sm.getSpellingLoc(e.loc), &invalid);
      if (invalid || e.length != got.size() || llvm::StringRef(spelled, e.length) != got) {
        PresumedLoc p = presumedLoc(sm, e.loc);
        error = fmt::format("token {} differs: preprocessed text has '{}', the parse '{}' at {}:{}", i,
                            got.str(), invalid ? "?" : std::string(spelled, e.length),
                            p.isValid() ? p.getFilename() : "?", p.isValid() ? p.getLine() : 0);
        return false;
      }
    }
    out.offsets[e.loc.getRawEncoding()] = offset;
    ++i;
  }
  if (i != recorded.tokens.size()) {
    error = fmt::format("the parse has {} tokens, the preprocessed text {}", recorded.tokens.size(), i);
    return false;
  }
  return true;
}

} // namespace dsu
