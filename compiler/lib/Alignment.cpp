#include "Alignment.h"

#include <clang/Basic/SourceManager.h>
#include <clang/Lex/Lexer.h>
#include <clang/Lex/Token.h>
#include <fmt/format.h>
#include <llvm/Support/MemoryBuffer.h>

using namespace clang;

namespace dsu {

void TokenRecorder::operator()(const Token &tok) {
  // Annotation tokens are the parser's own; -E shows pragmas as directives.
  if (tok.isAnnotation() || tok.is(tok::eof))
    return;
  tokens.push_back({tok.getLocation(), tok.getLength(), tok.needsCleaning()});
}

SourceLocation TokenMap::lookup(const SourceManager &sm, SourceLocation astLoc) const {
  auto it = offsets.find(astLoc.getRawEncoding());
  if (it == offsets.end())
    return {};
  return sm.getComposedLoc(file, it->second);
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
        PresumedLoc p = sm.getPresumedLoc(sm.getExpansionLoc(e.loc));
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
