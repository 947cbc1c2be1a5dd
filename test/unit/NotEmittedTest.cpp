// What the plain compile would not emit, read from an optimized module.
#include "NotEmitted.h"

#include <catch2/catch.hpp>
#include <llvm/AsmParser/Parser.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/SourceMgr.h>

using namespace dsu;

namespace {

// A rewritten unit after the optimizer: `live` is called by the external
// `api`; `dead` (and the static `table` only it used) were reached by
// nothing but their descriptors once the branch to them folded away.
// `kept` is static and unreferenced but marked used by the unit itself;
// `callee` is reached only through its pointer (a call the rewrite made);
// `flags`, plain data nothing reaches, stays registered.
// The stub of an updateable function F: a call through its pointer.
std::string stub(const std::string &f) {
  return "define internal void @" + f + "() { %f = load ptr, ptr @__dsu_fp_" + f +
         "\n call void %f()\n ret void }\n";
}

const std::string kModule = R"(
%struct.fd = type { i32, i32, ptr, ptr, ptr, ptr, ptr, ptr }
%struct.vd = type { i32, i32, ptr, ptr, ptr, i64, ptr }
@.live = private constant [5 x i8] c"live\00"
@.dead = private constant [5 x i8] c"dead\00"
@.kept = private constant [5 x i8] c"kept\00"
@.table = private constant [6 x i8] c"table\00"
@.count = private constant [6 x i8] c"count\00"
@.callee = private constant [7 x i8] c"callee\00"
@.flags = private constant [6 x i8] c"flags\00"
@flags = internal global i32 7
@__dsu_vdesc_flags = internal global %struct.vd { i32 5, i32 0, ptr @.flags, ptr @__dsu_tu_name, ptr @flags, i64 4, ptr @__dsu_unit_hash }
@__dsu_fp_callee = internal global ptr @__dsu_v0_callee
@__dsu_desc_callee = internal global %struct.fd { i32 5, i32 0, ptr @.callee, ptr @__dsu_tu_name, ptr @__dsu_fp_callee, ptr @__dsu_v0_callee, ptr @callee, ptr @__dsu_unit_hash }
@__dsu_tu_name = internal constant [4 x i8] c"u.c\00"
@__dsu_unit_hash = internal constant [2 x i8] c"h\00"
@table = internal global [1 x ptr] [ptr @ext_only]
@count = internal global i32 0
@__dsu_fp_live = internal global ptr @__dsu_v0_live
@__dsu_fp_dead = internal global ptr @__dsu_v0_dead
@__dsu_fp_kept = internal global ptr @__dsu_v0_kept
@__dsu_desc_live = internal global %struct.fd { i32 5, i32 0, ptr @.live, ptr @__dsu_tu_name, ptr @__dsu_fp_live, ptr @__dsu_v0_live, ptr @live, ptr @__dsu_unit_hash }
@__dsu_desc_dead = internal global %struct.fd { i32 5, i32 0, ptr @.dead, ptr @__dsu_tu_name, ptr @__dsu_fp_dead, ptr @__dsu_v0_dead, ptr @dead, ptr @__dsu_unit_hash }
@__dsu_desc_kept = internal global %struct.fd { i32 5, i32 0, ptr @.kept, ptr @__dsu_tu_name, ptr @__dsu_fp_kept, ptr @__dsu_v0_kept, ptr @kept, ptr @__dsu_unit_hash }
@__dsu_vdesc_table = internal global %struct.vd { i32 5, i32 2, ptr @.table, ptr @__dsu_tu_name, ptr @table, i64 8, ptr @__dsu_unit_hash }
@__dsu_vdesc_count = internal global %struct.vd { i32 5, i32 0, ptr @.count, ptr @__dsu_tu_name, ptr @count, i64 4, ptr @__dsu_unit_hash }
@llvm.used = appending global [6 x ptr] [ptr @__dsu_desc_live, ptr @__dsu_desc_dead, ptr @__dsu_desc_kept, ptr @__dsu_vdesc_table, ptr @__dsu_vdesc_count, ptr @kept], section "llvm.metadata"
declare void @ext_only()
define internal i32 @__dsu_v0_live() {
  %v = load i32, ptr @count
  ret i32 %v
}
define internal i32 @live() {
  %f = load ptr, ptr @__dsu_fp_live
  %r = call i32 %f()
  ret i32 %r
}
define internal void @__dsu_v0_dead() {
  %f = load ptr, ptr @table
  call void %f()
  ret void
}
)" + stub("dead") + stub("kept") + "define internal void @__dsu_v0_kept() { ret void }\n" +
                                 stub("callee") +
                                 "define internal void @__dsu_v0_callee() { ret void }\n" + R"(
define i32 @api() {
  %r = call i32 @live()
  %c = load ptr, ptr @__dsu_fp_callee
  call void %c()
  ret i32 %r
}
)";

// Parses the module text and scans it.
NotEmitted scan(const std::string &text) {
  llvm::LLVMContext ctx;
  llvm::SMDiagnostic err;
  std::unique_ptr<llvm::Module> m = llvm::parseAssemblyString(text, err, ctx);
  REQUIRE(m);
  return findNotEmitted(*m);
}

} // namespace

TEST_CASE("findNotEmitted: what only dsu's descriptors reach", "[notemitted]") {
  NotEmitted found = scan(kModule);
  CHECK(found.functions == std::set<std::string>{"dead"});
  CHECK(found.statics == std::set<std::string>{"table"});
}

TEST_CASE("findNotEmitted: an external function is always emitted", "[notemitted]") {
  std::string text = kModule;
  const std::string from = "define internal void @dead()";
  text.replace(text.find(from), from.size(), "define void @dead()");
  CHECK(scan(text).empty());
}
