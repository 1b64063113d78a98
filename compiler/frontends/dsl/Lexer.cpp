//===- Lexer.cpp - tokens of the Braid model DSL --------------------------===//

#include "compiler/frontends/dsl/Lexer.h"

#include <cctype>
#include <cstring>

using namespace llvm;

namespace braid {
namespace frontend {

bool isSymbolName(char c) { return c != 0 && strchr("*-=~!@$%^&.:<>?/|", c); }

std::string Token::describe() const {
  switch (kind) {
  case EndOfFile:
    return "end of file";
  case Newline:
    return "end of line";
  case String:
    return "\"" + text.str() + "\"";
  default:
    return "'" + text.str() + "'";
  }
}

Token Lexer::make(Token::Kind kind, const char *start) {
  Token token;
  token.kind = kind;
  token.text = StringRef(start, cur - start);
  token.loc = SMLoc::getFromPointer(start);
  return token;
}

void Lexer::skipSpaceAndComments() {
  while (cur < end) {
    if (*cur == ' ' || *cur == '\t' || *cur == '\r') {
      ++cur;
    } else if (*cur == '#') {
      while (cur < end && *cur != '\n')
        ++cur;
    } else {
      return;
    }
  }
}

static bool startsNumber(const char *p, const char *end) {
  if (p < end && isdigit(static_cast<unsigned char>(*p)))
    return true;
  if (p + 1 < end && *p == '.' && isdigit(static_cast<unsigned char>(p[1])))
    return true;
  return false;
}

Token Lexer::lexNumber(const char *start) {
  // Sign, digits, fraction, exponent; the parser checks the value.
  if (cur < end && (*cur == '-' || *cur == '+'))
    ++cur;
  if (end - cur >= 3 && StringRef(cur, 3) == "inf" &&
      (end - cur == 3 || !isalnum(static_cast<unsigned char>(cur[3])))) {
    cur += 3;
    return make(Token::Number, start);
  }
  while (cur < end &&
         (isalnum(static_cast<unsigned char>(*cur)) || *cur == '.' ||
          *cur == '_' ||
          ((*cur == '-' || *cur == '+') && (cur[-1] == 'e' || cur[-1] == 'E'))))
    ++cur;
  return make(Token::Number, start);
}

Token Lexer::lexString(const char *start) {
  ++cur; // opening quote
  const char *contents = cur;
  while (cur < end && *cur != '"' && *cur != '\n')
    ++cur;
  if (cur >= end || *cur != '"') {
    Token token = make(Token::Error, start);
    token.message = "unterminated string";
    return token;
  }
  Token token;
  token.kind = Token::String;
  token.text = StringRef(contents, cur - contents);
  token.loc = SMLoc::getFromPointer(start);
  ++cur; // closing quote
  return token;
}

Token Lexer::lex() {
  skipSpaceAndComments();
  const char *start = cur;
  if (cur >= end)
    return make(Token::EndOfFile, start);
  char c = *cur;
  if (c == '\n') {
    ++cur;
    return make(Token::Newline, start);
  }
  if (isalpha(static_cast<unsigned char>(c)) || c == '_') {
    while (cur < end &&
           (isalnum(static_cast<unsigned char>(*cur)) || *cur == '_'))
      ++cur;
    // "inf" is a number wherever a number may stand; the parser decides.
    return make(Token::Identifier, start);
  }
  if (startsNumber(cur, end) ||
      ((c == '-' || c == '+') &&
       (startsNumber(cur + 1, end) ||
        (end - cur >= 4 && StringRef(cur + 1, 3) == "inf"))))
    return lexNumber(start);
  if (c == '"')
    return lexString(start);
  ++cur;
  switch (c) {
  case '{':
    return make(Token::LBrace, start);
  case '}':
    return make(Token::RBrace, start);
  case ';':
    return make(Token::Semicolon, start);
  default:
    break;
  }
  if (isSymbolName(c))
    return make(Token::Symbol, start);
  Token token = make(Token::Error, start);
  token.message = std::string("unexpected character '") + c + "'";
  return token;
}

Token Lexer::next() {
  if (hasPeeked) {
    hasPeeked = false;
    return peeked;
  }
  return lex();
}

const Token &Lexer::peek() {
  if (!hasPeeked) {
    peeked = lex();
    hasPeeked = true;
  }
  return peeked;
}

} // namespace frontend
} // namespace braid
