// drover's exceptions as Python classes: Error, and under it ConfigError, ExecutorError,
// SinkError, NotFoundError and ConflictError, with the C++ message unchanged (file:line:column: key: problem for job files).

#include "bind.hpp"

namespace drover::python {

namespace {
// Created once at import and kept for the life of the interpreter.
PyObject* error_type = nullptr;
PyObject* config_error_type = nullptr;
PyObject* executor_error_type = nullptr;
PyObject* sink_error_type = nullptr;
PyObject* not_found_error_type = nullptr;
PyObject* conflict_error_type = nullptr;

PyObject* make_type(py::module_& m, const char* name, PyObject* base, const char* doc) {
    std::string qualified = std::string("drover.") + name;
    PyObject* t = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base, nullptr);
    if (!t) throw py::error_already_set();
    m.add_object(name, py::reinterpret_borrow<py::object>(t));
    return t;
}
}  // namespace

void bind_errors(py::module_& m) {
    error_type = make_type(m, "Error", PyExc_Exception, "Base class of every error drover raises.");
    config_error_type = make_type(
        m, "ConfigError", error_type,
        "A job file or option is wrong.\n\n"
        "str(e) reads 'file:line:column: key: problem' when the mistake has a location;\n"
        "the attributes file, line, column and key are then set (else '', 0, 0, '').");
    executor_error_type = make_type(m, "ExecutorError", error_type,
                                    "An executor could not do its job (spawn, connection, daemon).");
    sink_error_type = make_type(m, "SinkError", error_type,
                                "A sink could not stage or commit output, or its output could not be read.");

    not_found_error_type = make_type(m, "NotFoundError", error_type,
                                     "What a request names does not exist: a job, a task (drover.Service, drover.Client).");
    conflict_error_type = make_type(m, "ConflictError", error_type,
                                    "A request conflicts with what is going on: a run of the job is already going, or none is.");

    py::register_exception_translator([](std::exception_ptr p) {
        if (!p) return;
        try {
            std::rethrow_exception(p);
        } catch (const config_error& e) {
            py::object inst = py::reinterpret_borrow<py::object>(config_error_type)(e.what());
            inst.attr("file") = e.file();
            inst.attr("line") = e.line();
            inst.attr("column") = e.column();
            inst.attr("key") = e.key();
            PyErr_SetObject(config_error_type, inst.ptr());
        } catch (const executor_error& e) {
            PyErr_SetString(executor_error_type, e.what());
        } catch (const sink_error& e) {
            PyErr_SetString(sink_error_type, e.what());
        } catch (const not_found_error& e) {
            PyErr_SetString(not_found_error_type, e.what());
        } catch (const conflict_error& e) {
            PyErr_SetString(conflict_error_type, e.what());
        } catch (const error& e) {
            PyErr_SetString(error_type, e.what());
        }
    });
}

}  // namespace drover::python
