//===- Lexer.h - tokens of the Braid model DSL ----------------------------===//
//
// Tokens: identifiers, numbers (with sign, exponent, inf), "strings", the
// braces, `;`, line ends (a field ends at the end of its line) and single
// symbol characters that may name templates (`*`, `-`, ...). `#` starts a
// comment that runs to the end of the line.
//
//===----------------------------------------------------------------------===//

#ifndef BRAID_FRONTENDS_DSL_LEXER_H
#define BRAID_FRONTENDS_DSL_LEXER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/SMLoc.h"

#include <string>

namespace braid {
namespace frontend {

struct Token {
  enum Kind {
    Identifier,
    Number,
    String, // text excludes the quotes
    Symbol, // one character usable as a template name
    LBrace,
    RBrace,
    Semicolon,
    Newline,
    EndOfFile,
    Error // text holds the message
  };
  Kind kind = EndOfFile;
  llvm::StringRef text;
  llvm::SMLoc loc;
  std::string message; // for Error

  bool is(Kind k) const { return kind == k; }
  bool isWord(llvm::StringRef word) const {
    return kind == Identifier && text == word;
  }
  /// How messages show the token: 'heads', end of line, end of file, ...
  std::string describe() const;
};

/// Characters that can be one-character template names (in patterns too).
bool isSymbolName(char c);

class Lexer {
public:
  explicit Lexer(llvm::StringRef buffer)
      : cur(buffer.begin()), end(buffer.end()) {}

  Token next();
  /// The next token, without consuming it.
  const Token &peek();

private:
  Token lex();
  Token make(Token::Kind kind, const char *start);
  Token lexNumber(const char *start);
  Token lexString(const char *start);
  void skipSpaceAndComments();

  const char *cur, *end;
  bool hasPeeked = false;
  Token peeked;
};

} // namespace frontend
} // namespace braid

#endif // BRAID_FRONTENDS_DSL_LEXER_H
