#include "data/text_reader.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace nmoe::data {
namespace {

using ::testing::HasSubstr;

std::string Write(const testing::TempDir& tmp, const std::string& name, const std::string& content) {
  std::string path = tmp.file(name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

std::vector<Document> ReadAll(DocumentReader& reader) {
  std::vector<Document> docs;
  while (true) {
    auto doc = reader.Next();
    EXPECT_TRUE(doc.ok()) << doc.status();
    if (!doc.ok() || !doc->has_value()) break;
    docs.push_back(**doc);
  }
  return docs;
}

TEST(TextReaderTest, PlainTextOneDocumentPerLine) {
  testing::TempDir tmp;
  auto reader = DocumentReader::Open(Write(tmp, "a.txt", "first doc\r\n\n   \nsecond \xce\xb1\nno newline at end"));
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->format(), TextFormat::kPlain);
  auto docs = ReadAll(**reader);
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].text, "first doc");
  EXPECT_EQ(docs[0].line, 1u);
  EXPECT_EQ(docs[1].text, "second \xce\xb1");
  EXPECT_EQ(docs[1].line, 4u);
  EXPECT_EQ(docs[2].text, "no newline at end");
  EXPECT_EQ(docs[2].line, 5u);
}

TEST(TextReaderTest, PlainTextInvalidUtf8NamesLine) {
  testing::TempDir tmp;
  std::string path = Write(tmp, "bad.txt", "fine\nab\xff" "cd\n");
  auto reader = DocumentReader::Open(path);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*reader)->Next().ok());
  auto doc = (*reader)->Next();
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(doc.status().message(), path + ":2: invalid UTF-8 at byte 3 of the line");
}

TEST(TextReaderTest, Utf8Validation) {
  EXPECT_EQ(FindInvalidUtf8("ascii \xe4\xb8\xad \xf0\x9f\x98\x80"), std::nullopt);
  EXPECT_EQ(FindInvalidUtf8("\xc0\xaf"), 0u);          // overlong '/'
  EXPECT_EQ(FindInvalidUtf8("ab\xed\xa0\x80"), 2u);     // surrogate U+D800
  EXPECT_EQ(FindInvalidUtf8("\xf4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(FindInvalidUtf8("x\xe4\xb8"), 1u);          // truncated
}

TEST(TextReaderTest, JsonlTextField) {
  testing::TempDir tmp;
  auto reader = DocumentReader::Open(Write(tmp, "c.jsonl",
                                           "{\"text\": \"Hello \\u00e9\", \"url\": \"x\"}\n\n"
                                           "{\"id\": 2, \"text\": \"line\\nbreak\"}\n"));
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->format(), TextFormat::kJsonl);
  auto docs = ReadAll(**reader);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].text, "Hello \xc3\xa9");
  EXPECT_EQ(docs[1].text, "line\nbreak");
  EXPECT_EQ(docs[1].line, 3u);
}

TEST(TextReaderTest, JsonlErrorsNameTheLine) {
  testing::TempDir tmp;
  struct Case {
    std::string line;
    std::string message;
  } cases[] = {
      {"{\"text\": \"unterminated}", ":2: invalid JSON at byte"},
      {"[1, 2]", ":2: expected a JSON object, found array"},
      {"{\"content\": \"x\"}", ":2: missing field \"text\""},
      {"{\"text\": 42}", ":2: field \"text\" is a number, expected a string"},
  };
  for (const Case& c : cases) {
    std::string path = Write(tmp, "e.jsonl", "{\"text\": \"ok\"}\n" + c.line + "\n");
    auto reader = DocumentReader::Open(path);
    ASSERT_TRUE(reader.ok());
    ASSERT_TRUE((*reader)->Next().ok());
    auto doc = (*reader)->Next();
    EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument) << c.line;
    EXPECT_THAT(std::string(doc.status().message()), HasSubstr(path + c.message)) << c.line;
  }
}

TEST(TextReaderTest, OtherFieldAndMissingFile) {
  testing::TempDir tmp;
  auto reader = DocumentReader::Open(Write(tmp, "f.data", "{\"content\": \"x\"}\n"), TextFormat::kJsonl, "content");
  ASSERT_TRUE(reader.ok());
  auto doc = (*reader)->Next();
  ASSERT_TRUE(doc.ok() && doc->has_value());
  EXPECT_EQ((*doc)->text, "x");
  EXPECT_EQ(DocumentReader::Open(tmp.file("missing.txt")).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace nmoe::data
