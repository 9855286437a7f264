#include "tandem/tools/workspace.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "support/temp_dir.h"
#include "tandem/tools/file_tools.h"

namespace tandem::tools {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;

class WorkspaceTest : public ::testing::Test {
 protected:
  WorkspaceTest() {
    root_ = outer_.path() / "ws";
    fs::create_directories(root_);
    secret_ = outer_.Write("secret.txt", "TOP-SECRET");
    auto opened = Workspace::Open(root_);
    EXPECT_TRUE(opened) << opened.error().message();
    workspace_ = std::move(*opened);
  }
  void ExpectRefused(std::string_view path) {
    Result<FileChunk> read = workspace_->Read(path, 0, 100);
    ASSERT_FALSE(read) << "read of " << path << " returned " << read->data;
    EXPECT_EQ(read.error().code(), ErrorCode::kPermissionDenied) << read.error().message();
  }
  TempDir outer_;
  fs::path root_;
  fs::path secret_;
  std::unique_ptr<Workspace> workspace_;
};

TEST_F(WorkspaceTest, ReadsWritesAppendsAndDeletes) {
  ASSERT_TRUE(workspace_->Write("a/b/c.txt", "hello"));
  ASSERT_TRUE(workspace_->Append("a/b/c.txt", " world"));
  Result<FileChunk> chunk = workspace_->Read("a/b/c.txt", 0, 100);
  ASSERT_TRUE(chunk);
  EXPECT_EQ(chunk->data, "hello world");
  EXPECT_EQ(workspace_->Read("a/b/c.txt", 6, 3)->data, "wor");
  EXPECT_EQ(workspace_->Read("a/b/c.txt", 6, 3)->file_size, 11);
  EXPECT_EQ(workspace_->Read("a/b/c.txt", 50, 3)->data, "");
  ASSERT_TRUE(workspace_->Delete("a/b/c.txt"));
  EXPECT_EQ(workspace_->Read("a/b/c.txt", 0, 1).error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(workspace_->Delete("a/b"));  // Empty directory.
  EXPECT_FALSE(workspace_->Delete("a/b"));
}

TEST_F(WorkspaceTest, DotDotCannotEscape) {
  fs::create_directories(root_ / "a");
  ExpectRefused("../secret.txt");
  ExpectRefused("a/../../secret.txt");
  ExpectRefused("./../ws/../secret.txt");
  EXPECT_FALSE(workspace_->Write("../escaped.txt", "x"));
  EXPECT_FALSE(fs::exists(outer_.path() / "escaped.txt"));
  EXPECT_FALSE(workspace_->Write("sub/../../escaped2.txt", "x"));
  EXPECT_FALSE(fs::exists(outer_.path() / "escaped2.txt"));
  EXPECT_FALSE(workspace_->Delete("../secret.txt"));
  EXPECT_TRUE(fs::exists(secret_));
}

TEST_F(WorkspaceTest, DotDotInsideTheWorkspaceIsFine) {
  ASSERT_TRUE(workspace_->Write("x/y.txt", "ok"));
  EXPECT_EQ(workspace_->Read("x/../x/y.txt", 0, 10)->data, "ok");
}

TEST_F(WorkspaceTest, AbsolutePathsAreRefused) {
  ExpectRefused(secret_.string());
  ExpectRefused("/etc/passwd");
  ExpectRefused("/proc/self/root/etc/passwd");
  EXPECT_FALSE(workspace_->Write("/tmp/tandem-absolute-write", "x"));
  EXPECT_FALSE(fs::exists("/tmp/tandem-absolute-write"));
}

TEST_F(WorkspaceTest, SymlinksPointingOutsideAreRefused) {
  fs::create_symlink(secret_, root_ / "abs_link");
  fs::create_symlink("../secret.txt", root_ / "rel_link");
  fs::create_symlink("/proc/self/root", root_ / "proc_root");
  fs::create_symlink("../../../../../../../proc/self/root/etc/passwd", root_ / "deep");
  fs::create_symlink(outer_.path(), root_ / "outdir");
  ExpectRefused("abs_link");
  ExpectRefused("rel_link");
  ExpectRefused("proc_root/etc/passwd");
  ExpectRefused("deep");
  ExpectRefused("outdir/secret.txt");
  // Writing through a symlinked directory must not create anything outside.
  EXPECT_FALSE(workspace_->Write("outdir/planted.txt", "x"));
  EXPECT_FALSE(workspace_->Append("outdir/planted.txt", "x"));
  EXPECT_FALSE(workspace_->Append("abs_link", "x"));
  EXPECT_FALSE(fs::exists(outer_.path() / "planted.txt"));
  EXPECT_EQ(ReadFile(secret_), "TOP-SECRET");
}

TEST_F(WorkspaceTest, MagicLinksAreRefusedEvenWhenResolvedBeneath) {
  // /proc/self/fd/N is a magic link; reach it only through a symlink into /proc is already
  // refused, so check the direct RESOLVE_NO_MAGICLINKS case with a /proc bind-like path: a
  // relative symlink to a workspace file works, one to a magic link does not.
  ASSERT_TRUE(workspace_->Write("real.txt", "inside"));
  fs::create_symlink("real.txt", root_ / "good_link");
  EXPECT_EQ(workspace_->Read("good_link", 0, 10)->data, "inside");
  fs::create_symlink("/proc/self/fd/0", root_ / "fd_link");
  ExpectRefused("fd_link");
}

TEST_F(WorkspaceTest, WritingOverASymlinkReplacesTheLinkNotTheTarget) {
  fs::create_symlink(secret_, root_ / "link");
  ASSERT_TRUE(workspace_->Write("link", "replaced"));
  EXPECT_EQ(ReadFile(secret_), "TOP-SECRET");
  EXPECT_FALSE(fs::is_symlink(root_ / "link"));
  EXPECT_EQ(ReadFile(root_ / "link"), "replaced");
}

TEST_F(WorkspaceTest, DeletingASymlinkLeavesTheTarget) {
  fs::create_symlink(secret_, root_ / "link");
  ASSERT_TRUE(workspace_->Delete("link"));
  EXPECT_TRUE(fs::exists(secret_));
}

TEST_F(WorkspaceTest, HardLinksToOutsideFilesAreRefused) {
  fs::create_hard_link(secret_, root_ / "hard");
  Result<FileChunk> read = workspace_->Read("hard", 0, 100);
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message().find("hard links"), std::string::npos);
  EXPECT_FALSE(workspace_->Append("hard", "tampered"));
  // write_file replaces the name with a new file, leaving the outside file unchanged.
  ASSERT_TRUE(workspace_->Write("hard", "new"));
  EXPECT_EQ(ReadFile(secret_), "TOP-SECRET");
}

TEST_F(WorkspaceTest, SymlinkSwappedDuringReadsNeverLeaksOutside) {
  ASSERT_TRUE(workspace_->Write("safe.txt", "safe"));
  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    fs::path link = root_ / "flip";
    fs::path temp_good = root_ / ".good";
    fs::path temp_bad = root_ / ".bad";
    std::error_code ignored;
    fs::create_symlink("safe.txt", temp_good, ignored);
    fs::create_symlink("../secret.txt", temp_bad, ignored);
    while (!stop.load()) {
      // rename(2) swaps atomically; recreate the source links after each move.
      fs::create_symlink("safe.txt", temp_good, ignored);
      fs::rename(temp_good, link, ignored);
      fs::create_symlink("../secret.txt", temp_bad, ignored);
      fs::rename(temp_bad, link, ignored);
    }
  });
  int safe_reads = 0;
  for (int i = 0; i < 3000; ++i) {
    Result<FileChunk> read = workspace_->Read("flip", 0, 100);
    if (read) {
      ASSERT_EQ(read->data, "safe");
      ++safe_reads;
    }
    ASSERT_FALSE(workspace_->Write("flip/../../leak.txt", "x"));
  }
  stop = true;
  swapper.join();
  EXPECT_FALSE(fs::exists(outer_.path() / "leak.txt"));
  EXPECT_EQ(ReadFile(secret_), "TOP-SECRET");
}

TEST_F(WorkspaceTest, VeryLongNamesFailCleanly) {
  std::string component(300, 'a');
  Result<FileChunk> read = workspace_->Read(component, 0, 1);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(workspace_->Write(component, "x"));
  std::string long_path;
  while (long_path.size() < 5000)
    long_path += "d/";
  long_path += "f";
  Result<FileChunk> long_read = workspace_->Read(long_path, 0, 1);
  ASSERT_FALSE(long_read);
  EXPECT_NE(long_read.error().message().find("too long"), std::string::npos);
  // Deep but legal paths work.
  std::string deep;
  for (int i = 0; i < 100; ++i)
    deep += "dd/";
  deep += "leaf.txt";
  EXPECT_TRUE(workspace_->Write(deep, "deep"));
  EXPECT_EQ(workspace_->Read(deep, 0, 10)->data, "deep");
}

TEST_F(WorkspaceTest, NonUtf8AndNulNames) {
  std::string name = "bad\xFF\xFEname.txt";
  ASSERT_TRUE(workspace_->Write(name, "bytes"));
  EXPECT_EQ(workspace_->Read(name, 0, 10)->data, "bytes");
  bool truncated = false;
  auto entries = workspace_->List(".", false, 100, &truncated);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].path, name);
  Result<FileChunk> nul = workspace_->Read(std::string("a\0b", 3), 0, 1);
  ASSERT_FALSE(nul);
  EXPECT_NE(nul.error().message().find("NUL"), std::string::npos);
}

TEST_F(WorkspaceTest, SpecialFilesAreRefusedWithoutBlocking) {
  ASSERT_EQ(mkfifo((root_ / "pipe").c_str(), 0644), 0);
  Result<FileChunk> read = workspace_->Read("pipe", 0, 10);
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message().find("not a regular file"), std::string::npos);
  EXPECT_FALSE(workspace_->Append("pipe", "x"));
  EXPECT_EQ(workspace_->Read(".", 0, 10).error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(WorkspaceTest, ListsRecursivelyWithoutFollowingSymlinks) {
  ASSERT_TRUE(workspace_->Write("b.txt", "1"));
  ASSERT_TRUE(workspace_->Write("a/c.txt", "22"));
  fs::create_symlink(outer_.path(), root_ / "z_out");
  bool truncated = false;
  auto entries = workspace_->List(".", true, 100, &truncated);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 4u);
  EXPECT_EQ((*entries)[0].path, "a");
  EXPECT_EQ((*entries)[1].path, "a/c.txt");
  EXPECT_EQ((*entries)[1].size, 2);
  EXPECT_EQ((*entries)[2].path, "b.txt");
  EXPECT_EQ((*entries)[3].kind, DirEntry::Kind::kSymlink);
  EXPECT_FALSE(truncated);
  auto capped = workspace_->List(".", true, 2, &truncated);
  EXPECT_EQ(capped->size(), 2u);
  EXPECT_TRUE(truncated);
  EXPECT_FALSE(workspace_->List("z_out", false, 10, &truncated));
}

TEST_F(WorkspaceTest, SearchesByGlobAndRegex) {
  ASSERT_TRUE(workspace_->Write("data/one.csv", "name,total\nalice,10\nbob,20\n"));
  ASSERT_TRUE(workspace_->Write("data/two.txt", "alice again\n"));
  ASSERT_TRUE(workspace_->Write("bin.dat", std::string("alice\0x", 7)));
  SearchOptions options;
  options.glob = "*.csv";
  auto report = workspace_->Search(".", options);
  ASSERT_TRUE(report);
  ASSERT_EQ(report->matches.size(), 1u);
  EXPECT_EQ(report->matches[0].path, "data/one.csv");
  options.glob = "*";
  options.regex = "^ali[a-z]+";
  report = workspace_->Search(".", options);
  ASSERT_TRUE(report);
  ASSERT_EQ(report->matches.size(), 2u);
  EXPECT_EQ(report->matches[0].path, "data/one.csv");
  EXPECT_EQ(report->matches[0].line, 2);
  EXPECT_EQ(report->skipped_files, 1u);  // The binary file.
  options.regex = "(unclosed";
  EXPECT_EQ(workspace_->Search(".", options).error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(WorkspaceTest, FileToolsThroughTheRegistry) {
  Registry registry;
  ASSERT_TRUE(RegisterFileTools(registry));
  ToolContext context;
  context.workspace_root = root_;
  context.limits.max_write_bytes = 10;
  ASSERT_TRUE(registry.Invoke("write_file", {{"path", "n.txt"}, {"content", "abc"}}, context));
  auto read = registry.Invoke("read_file", {{"path", "n.txt"}, {"offset", 1}}, context);
  ASSERT_TRUE(read);
  EXPECT_TRUE(read->output.starts_with("bc")) << read->output;
  auto too_big =
      registry.Invoke("write_file", {{"path", "n.txt"}, {"content", "0123456789A"}}, context);
  ASSERT_FALSE(too_big);
  EXPECT_NE(too_big.error().message().find("content"), std::string::npos);
  auto listed = registry.Invoke("list_files", nlohmann::json::object(), context);
  ASSERT_TRUE(listed);
  EXPECT_NE(listed->output.find("n.txt  (3 bytes)"), std::string::npos);
  auto escaped = registry.Invoke("read_file", {{"path", "../secret.txt"}}, context);
  ASSERT_FALSE(escaped);
  EXPECT_EQ(escaped.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(escaped.error().message().find("tool read_file"), std::string::npos);
  ASSERT_TRUE(registry.Invoke("delete_file", {{"path", "n.txt"}}, context));
}

TEST_F(WorkspaceTest, ReadCapsLargeFiles) {
  Registry registry;
  ASSERT_TRUE(RegisterFileTools(registry));
  ToolContext context;
  context.workspace_root = root_;
  context.limits.max_read_bytes = 100;
  ASSERT_TRUE(workspace_->Write("big.txt", std::string(1000, 'x')));
  auto read = registry.Invoke("read_file", {{"path", "big.txt"}, {"limit", 5000}}, context);
  ASSERT_TRUE(read);
  EXPECT_NE(read->output.find("continue with offset=100"), std::string::npos);
  EXPECT_EQ(read->data["bytes"], 100);
}

}  // namespace
}  // namespace tandem::tools
