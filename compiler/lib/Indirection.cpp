#include "Indirection.h"

#include "ASTUtils.h"
#include "Alignment.h"
#include "Eligibility.h"
#include "SourceUtils.h"
#include "TypeWrapping.h"

#include "dsu/abi.h"
#include "AbiHeader.h"
#include "CLiterals.h"
#include "Hashing.h"
#include "StaticRegistry.h"

#include <clang/AST/ASTContext.h>
#include <clang/AST/Attr.h>
#include <clang/AST/Decl.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Lex/Lexer.h>
#include <clang/Rewrite/Core/Rewriter.h>
#include <clang/Tooling/Transformer/SourceCode.h>
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

using namespace clang;

namespace dsu {

namespace {

std::string hexHash(llvm::StringRef data) { return sha256Hex(data, 16); }

struct Candidate {
  FunctionDecl *def = nullptr;
  FunctionRecord record;
  unsigned insertOffset = 0; // calls before this offset keep going to the stub
};

// Collects what is needed from function bodies: direct callees, call sites,
// __func__ uses.
class BodyScanner : public RecursiveASTVisitor<BodyScanner> {
public:
  std::vector<const CallExpr *> calls;
  std::vector<const PredefinedExpr *> predefined;
  bool VisitCallExpr(CallExpr *ce) {
    calls.push_back(ce);
    return true;
  }
  bool VisitPredefinedExpr(PredefinedExpr *pe) {
    predefined.push_back(pe);
    return true;
  }
};

class IndirectionRewriter {
public:
  IndirectionRewriter(ASTContext &ctx, const RewriteOptions &opts)
      : ctx_(ctx), sm_(ctx.getSourceManager()), lo_(ctx.getLangOpts()), opts_(opts),
        mainFile_(sm_.getMainFileID()),
        editFile_(opts.preprocessed ? opts.preprocessed->file : mainFile_),
        buffer_(sm_.getBufferData(editFile_)) {
    rw_.setSourceMgr(sm_, lo_);
  }
  IndirectionRewriter(const IndirectionRewriter &) = delete;

  RewriteResult run();

private:
  // Where the token at AST location `loc` is in the text being edited;
  // invalid when it is not there as such (a macro body in the plugin's
  // unpreprocessed input).
  SourceLocation edit(SourceLocation loc) const {
    if (loc.isInvalid())
      return {};
    if (opts_.preprocessed)
      return opts_.preprocessed->lookup(sm_, loc);
    return loc.isFileID() && sm_.getFileID(loc) == mainFile_ ? loc : SourceLocation();
  }
  bool editable(SourceLocation loc) const { return edit(loc).isValid(); }
  // Offset of an edit-text location.
  unsigned offset(SourceLocation editLoc) const { return sm_.getFileOffset(editLoc); }

  std::string normalizedTokens(SourceLocation begin, SourceLocation end) const;
  void describe(Candidate &c);
  bool planInsertion(Candidate &c);
  SourceLocation endOfDeclStatement(const Decl *d) const;
  void editDefinition(Candidate &c);
  unsigned headStart(const FunctionDecl *fd, unsigned begin) const;
  void editCalls();
  std::string prelude(bool afterMarker) const;

  ASTContext &ctx_;
  SourceManager &sm_;
  const LangOptions &lo_;
  const RewriteOptions &opts_;
  Rewriter rw_;
  FileID mainFile_;
  FileID editFile_; // holds buffer_, the text edited
  llvm::StringRef buffer_;
  // The same, for the rewrite's other parts.
  const EditText text_{rw_, editFile_, buffer_, [this](SourceLocation l) { return edit(l); }};
  std::vector<Candidate> candidates_;
  llvm::DenseMap<const FunctionDecl *, size_t> updateable_; // canonical decl -> candidate
  unsigned callsRewritten_ = 0;
  std::set<unsigned> editedCalls_;
};

// Body tokens joined by single spaces, without line markers: equal for bodies
// that differ only in layout and comments.
std::string IndirectionRewriter::normalizedTokens(SourceLocation astBegin, SourceLocation astEnd) const {
  SourceLocation begin = edit(astBegin), end = edit(astEnd);
  if (begin.isInvalid() || end.isInvalid())
    return {};
  unsigned b = offset(begin), e = offset(end);
  Lexer lex(sm_.getLocForStartOfFile(editFile_), lo_, buffer_.begin(), buffer_.begin() + b,
            buffer_.end());
  std::string out;
  Token tok;
  bool skippingDirective = false;
  while (!lex.LexFromRawLexer(tok)) {
    unsigned off = offset(tok.getLocation());
    if (off > e)
      break;
    if (tok.isAtStartOfLine())
      skippingDirective = tok.is(tok::hash);
    if (!skippingDirective) {
      out += Lexer::getSpelling(tok, sm_, lo_);
      out += ' ';
    }
    if (off == e)
      break;
  }
  return out;
}

void IndirectionRewriter::describe(Candidate &c) {
  FunctionDecl *fd = c.def;
  FunctionRecord &r = c.record;
  r.name = fd->getName().str();
  r.file = presumedFile(sm_, fd->getLocation());
  r.line = presumedLine(sm_, fd->getLocation());
  r.endLine = presumedLine(sm_, fd->getEndLoc());
  r.external = fd->isExternallyVisible();
  std::string proto = fmt::format("{} {} {}", r.external ? "extern" : "static",
                                  fd->getType().getCanonicalType().getAsString(), r.name);
  r.protoHash = hexHash(proto);
  if (auto *cs = dyn_cast_or_null<CompoundStmt>(fd->getBody()))
    r.bodyHash = hexHash(normalizedTokens(cs->getLBracLoc(), cs->getRBracLoc()));
  BodyScanner scan;
  scan.TraverseStmt(fd->getBody());
  std::set<std::string> callees;
  for (const CallExpr *ce : scan.calls)
    if (const FunctionDecl *callee = directCallee(ce, nullptr))
      callees.insert(callee->getName().str());
  r.calls.assign(callees.begin(), callees.end());
  r.effects = functionEffects(ctx_, fd, opts_.kernel);
}

// The location just past the ';' ending the declaration statement that
// contains `d` (a group like `int a, f(void);` ends at its ';').
SourceLocation IndirectionRewriter::endOfDeclStatement(const Decl *d) const {
  SourceLocation end = edit(d->getEndLoc());
  if (end.isInvalid())
    return {};
  unsigned start = offset(end);
  Lexer lex(sm_.getLocForStartOfFile(editFile_), lo_, buffer_.begin(), buffer_.begin() + start,
            buffer_.end());
  Token tok;
  int depth = 0;
  while (!lex.LexFromRawLexer(tok)) {
    if (tok.isOneOf(tok::l_paren, tok::l_brace, tok::l_square))
      ++depth;
    else if (tok.isOneOf(tok::r_paren, tok::r_brace, tok::r_square))
      --depth;
    else if (tok.is(tok::semi) && depth <= 0)
      return tok.getEndLoc();
    else if (tok.is(tok::eof))
      break;
  }
  return {};
}

// Decides where the forward declarations of body and pointer go: right after
// the first file-scope declaration of f in editable text, or just before the
// definition.
bool IndirectionRewriter::planInsertion(Candidate &c) {
  FunctionDecl *def = c.def;
  unsigned defOffset = offset(edit(def->getBeginLoc()));
  std::vector<const FunctionDecl *> decls;
  for (const FunctionDecl *d : def->redecls())
    if (d != def && editable(d->getLocation()) && offset(edit(d->getLocation())) < defOffset)
      decls.push_back(d);
  std::sort(decls.begin(), decls.end(), [&](const FunctionDecl *a, const FunctionDecl *b) {
    return offset(edit(a->getLocation())) < offset(edit(b->getLocation()));
  });
  for (const FunctionDecl *d : decls) {
    if (d->isImplicit() || !d->getLexicalDeclContext()->isFileContext())
      continue;
    SourceLocation after = endOfDeclStatement(d);
    if (after.isInvalid() || offset(after) > defOffset)
      continue;
    c.insertOffset = offset(after);
    return true;
  }
  c.insertOffset = defOffset;
  return true;
}

void IndirectionRewriter::editDefinition(Candidate &c) {
  FunctionDecl *fd = c.def;
  auto *cs = cast<CompoundStmt>(fd->getBody());
  const std::string name = fd->getName().str();
  const std::string body = DSU_BODY_PREFIX + name;
  const std::string ptr = DSU_PTR_PREFIX + name;
  const bool internal = !fd->isExternallyVisible();

  // The head as written, folded onto one line.
  const SourceLocation begin = edit(fd->getBeginLoc()), nameLoc = edit(fd->getLocation());
  std::string head =
      buffer_.slice(headStart(fd, offset(begin)), offset(edit(cs->getLBracLoc()))).str();
  std::replace(head.begin(), head.end(), '\n', ' ');
  while (!head.empty() && (head.back() == ' ' || head.back() == '\t'))
    head.pop_back();

  // Forward declarations: the body with f's type, and the pointer.
  std::string fwd = fmt::format(" static __typeof__({0}) {1}; {2}__typeof__({0}) *{3} = {1}; ",
                                name, body, internal ? "static " : "", ptr);
  SourceLocation insertAt = sm_.getComposedLoc(editFile_, c.insertOffset);
  if (c.insertOffset == offset(begin))
    rw_.InsertTextBefore(insertAt, head + ";" + fwd);
  else
    rw_.InsertTextAfter(insertAt, fwd);

  // The definition becomes the version-0 body with internal linkage.
  if (fd->getStorageClass() == SC_None) {
    // After the forward declarations inserted at the same place.
    rw_.InsertTextAfter(begin, "static ");
  } else if (fd->getStorageClass() == SC_Extern) {
    // Replace the written 'extern' keyword.
    unsigned b = offset(begin), e = offset(nameLoc);
    Lexer lex(sm_.getLocForStartOfFile(editFile_), lo_, buffer_.begin(), buffer_.begin() + b,
              buffer_.end());
    Token tok;
    while (!lex.LexFromRawLexer(tok) && offset(tok.getLocation()) < e) {
      if (tok.is(tok::raw_identifier) && tok.getRawIdentifier() == "extern") {
        rw_.ReplaceText(tok.getLocation(), tok.getLength(), "static");
        break;
      }
    }
  }
  rw_.ReplaceText(nameLoc, name.size(), body);

  // __func__ and __PRETTY_FUNCTION__ in the moved body must still say what
  // they said in f (assert() messages quote them).
  BodyScanner scan;
  scan.TraverseStmt(cs);
  for (const PredefinedExpr *pe : scan.predefined) {
    SourceLocation at = edit(pe->getLocation());
    Token tok;
    if (at.isInvalid() || Lexer::getRawToken(at, tok, sm_, lo_))
      continue;
    rw_.ReplaceText(at, tok.getLength(), fmt::format("({})", predefinedLiteral(pe, fd)));
  }

  // Stub and descriptor, on the line of the closing brace.
  std::string args;
  for (const ParmVarDecl *p : fd->parameters()) {
    if (!args.empty())
      args += ", ";
    args += p->getName().str();
  }
  const bool isVoid = fd->getReturnType()->isVoidType();
  std::string call = fmt::format("{}({})", ptr, args);
  std::string stubBody = isVoid ? call + ";" : "return " + call + ";";
  if (fd->isNoReturn())
    stubBody += " __builtin_trap();";
  std::string section = opts_.kernel ? "" : ", __section__(\"" DSU_FUNC_SECTION "\")";
  std::string stub = fmt::format(
      " {} {{ {} }} static struct __dsu_func_desc __dsu_desc_{} "
      "__attribute__((__used__, __aligned__(8){})) = {{ DSU_ABI_VERSION, 0, \"{}\", "
      "__dsu_tu_name, (void **)&{}, (void *){}, (void *){}, __dsu_unit_hash }};",
      head, stubBody, name, section, name, ptr, body, name);
  rw_.InsertTextAfterToken(edit(cs->getRBracLoc()), stub);
}

// The declaration's source range starts after leading GNU attributes
// (`__attribute__((__cold__)) int f(...)`); the stub must repeat them.
unsigned IndirectionRewriter::headStart(const FunctionDecl *fd, unsigned begin) const {
  unsigned earliest = begin;
  for (const Attr *a : fd->attrs()) {
    if (a->isInherited() || a->isImplicit())
      continue;
    SourceLocation at = edit(a->getLocation());
    if (at.isValid() && offset(at) < earliest)
      earliest = offset(at);
  }
  if (earliest == begin)
    return begin;
  // Find the `__attribute__` keyword that opens the earliest attribute.
  unsigned from = earliest > 512 ? earliest - 512 : 0;
  Lexer lex(sm_.getLocForStartOfFile(editFile_), lo_, buffer_.begin(), buffer_.begin() + from,
            buffer_.end());
  Token tok;
  unsigned keyword = begin;
  while (!lex.LexFromRawLexer(tok) && offset(tok.getLocation()) < earliest) {
    if (tok.is(tok::raw_identifier) &&
        (tok.getRawIdentifier() == "__attribute__" || tok.getRawIdentifier() == "__attribute"))
      keyword = offset(tok.getLocation());
  }
  return keyword < earliest ? keyword : begin;
}

void IndirectionRewriter::editCalls() {
  for (Candidate &c : candidates_) {
    // Calls in code that must not make indirect calls (noinstr, naked,
    // special sections) or that is not this unit's text stay as they are.
    if (reasonKeepsCalls(c.record.reason))
      continue;
    BodyScanner scan;
    scan.TraverseStmt(c.def->getBody());
    for (const CallExpr *ce : scan.calls) {
      const DeclRefExpr *ref = nullptr;
      const FunctionDecl *callee = directCallee(ce, &ref);
      if (!callee)
        continue;
      auto it = updateable_.find(callee->getCanonicalDecl());
      if (it == updateable_.end())
        continue;
      // Calls to noreturn functions go to the stub, which ends in a trap:
      // an indirect call cannot tell objtool and the unwinder that it does
      // not return.
      if (callee->isNoReturn())
        continue;
      const Candidate &target = candidates_[it->second];
      std::optional<CharSourceRange> range;
      if (opts_.preprocessed) {
        if (SourceLocation at = edit(ref->getLocation()); at.isValid())
          range = CharSourceRange::getTokenRange(at, at);
      } else {
        // Unpreprocessed input: macro arguments are editable where spelled.
        range = tooling::getFileRangeForEdit(
            CharSourceRange::getTokenRange(ref->getLocation(), ref->getLocation()), sm_, lo_,
            /*IncludeMacroExpansion=*/false);
      }
      if (!range || sm_.getFileID(range->getBegin()) != editFile_)
        continue;
      // A macro argument used twice is one spelling: edit it once.
      if (!editedCalls_.insert(offset(range->getBegin())).second) {
        ++c.record.callsRewritten;
        ++callsRewritten_;
        continue;
      }
      // Before the pointer is declared the call goes to the stub, which is
      // just as correct.
      if (offset(range->getBegin()) < target.insertOffset)
        continue;
      rw_.ReplaceText(*range, DSU_PTR_PREFIX + callee->getName().str());
      ++c.record.callsRewritten;
      ++callsRewritten_;
    }
  }
}

// The ABI header and the unit's name, entered like an included file so that
// the unit's first line marker (which names the compile unit in debug info)
// stays the original source's.
std::string IndirectionRewriter::prelude(bool afterMarker) const {
  PresumedLoc start = sm_.getPresumedLoc(sm_.getLocForStartOfFile(mainFile_));
  std::string mainName = start.isValid() ? start.getFilename() : opts_.tuName;
  std::string tu = escapeCString(opts_.tuName);
  return fmt::format("{}# 1 \"<dsu-abi>\" 1\n{}\nstatic const char __dsu_tu_name[] "
                     "__attribute__((__unused__)) = \"{}\";\nstatic const char "
                     "__dsu_unit_hash[] __attribute__((__unused__)) = \"{}\";\n# 1 \"{}\" 2\n",
                     afterMarker ? "" : fmt::format("# 1 \"{}\"\n", mainName), abiHeaderText(), tu,
                     escapeCString(opts_.unitHash), mainName);
}

RewriteResult IndirectionRewriter::run() {
  const FunctionEligibility eligibility(ctx_, opts_, text_);
  // Header functions are listed (and described) only when this unit emits
  // them: the unit's own functions are the roots.
  std::vector<Candidate> defined;
  std::vector<const FunctionDecl *> roots;
  for (Decl *d : ctx_.getTranslationUnitDecl()->decls()) {
    auto *fd = dyn_cast<FunctionDecl>(d);
    if (!fd || !fd->doesThisDeclarationHaveABody())
      continue;
    Candidate c;
    c.def = fd;
    c.record.reason = eligibility.classify(fd, c.record.detail);
    if (c.record.reason != Reason::HeaderFunction || fd->hasExternalFormalLinkage())
      roots.push_back(fd->getCanonicalDecl());
    defined.push_back(std::move(c));
  }
  std::set<const FunctionDecl *> emitted = emittedFunctions(ctx_, roots);
  for (Candidate &c : defined) {
    if (c.record.reason == Reason::HeaderFunction && !emitted.count(c.def->getCanonicalDecl()))
      continue;
    describe(c);
    c.record.updateable = c.record.reason == Reason::None;
    candidates_.push_back(std::move(c));
  }
  for (size_t i = 0; i < candidates_.size(); ++i) {
    Candidate &c = candidates_[i];
    if (!c.record.updateable)
      continue;
    planInsertion(c);
    updateable_[c.def->getCanonicalDecl()] = i;
  }

  RewriteResult result;
  StaticRegistry statics(ctx_, opts_, text_);
  for (Candidate &c : candidates_)
    if (c.record.updateable) {
      editDefinition(c);
      statics.registerLocals(c.def);
    }
  editCalls();
  bool wrapped = false;
  wrapTypes(TypeWrapInput{ctx_, rw_, [this](SourceLocation l) { return edit(l); }, opts_},
            result.types, wrapped);
  if (!updateable_.empty() || wrapped)
    statics.registerFileStatics();
  if (!updateable_.empty() || wrapped) {
    if (opts_.emitPrelude) {
      // After the unit's first line marker when it starts with one (-E output).
      unsigned at = 0;
      if (buffer_.starts_with("# 1 ") && buffer_.find('\n') != llvm::StringRef::npos)
        at = buffer_.find('\n') + 1;
      rw_.InsertTextBefore(sm_.getComposedLoc(editFile_, at), prelude(at != 0));
    }
    const auto *rb = rw_.getRewriteBufferFor(editFile_);
    result.text = rb ? std::string(rb->begin(), rb->end()) : buffer_.str();
    result.changed = true;
  }

  for (Candidate &c : candidates_)
    result.functions.push_back(std::move(c.record));
  result.variables = statics.takeRecords();
  result.addressTaken = addressTakenFunctions(ctx_, result.fieldStores);
  result.callsRewritten = callsRewritten_;
  return result;
}

} // namespace

RewriteResult rewriteTranslationUnit(ASTContext &ctx, const RewriteOptions &opts) {
  IndirectionRewriter r(ctx, opts);
  return r.run();
}

} // namespace dsu
