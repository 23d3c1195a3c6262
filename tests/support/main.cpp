// doctest's main, plus a guard: a run asked for test cases by name that ran none fails.
// (A name that ctest passes through badly, e.g. with a ';', would otherwise pass silently.)
// Network rule: the AWS credential chain ends at the EC2 instance metadata service
// (169.254.169.254); tests never probe it. A test that wants IMDS points
// AWS_EC2_METADATA_SERVICE_ENDPOINT at its own loopback fake and turns this off.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

int test_cases_started = 0;

struct start_counter : doctest::IReporter {
    explicit start_counter(const doctest::ContextOptions&) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_start(const doctest::TestCaseData&) override { ++test_cases_started; }
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

DOCTEST_REGISTER_LISTENER("start_counter", 1, start_counter);

int main(int argc, char** argv) {
    ::setenv("AWS_EC2_METADATA_DISABLED", "true", 0);
    doctest::Context context(argc, argv);
    int rc = context.run();
    if (context.shouldExit()) return rc;
    bool by_name = false;
    for (int i = 1; i < argc; ++i)
        if (std::strncmp(argv[i], "--test-case=", 12) == 0 || std::strncmp(argv[i], "-tc=", 4) == 0) by_name = true;
    if (rc == 0 && by_name && test_cases_started == 0) {
        std::fprintf(stderr, "no test case matched the --test-case filter\n");
        return 1;
    }
    return rc;
}
