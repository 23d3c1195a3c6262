// Conversions between Python values and drover's: durations and JSON.

#include "bind.hpp"

#include <boost/json/value.hpp>

#include <cmath>

namespace drover::python {

duration to_duration(py::handle value, const std::string& what) {
    if (py::isinstance<py::bool_>(value))
        throw py::type_error(what + ": expected seconds (float), a duration string like \"30s\" or a timedelta, got bool");
    double secs = 0;
    if (py::isinstance<py::str>(value)) {
        auto text = value.cast<std::string>();
        try {
            return parse_duration(text);
        } catch (const config_error& e) {
            throw config_error(what + ": " + e.what());
        }
    } else if (py::isinstance<py::int_>(value) || py::isinstance<py::float_>(value)) {
        secs = value.cast<double>();
    } else if (py::isinstance(value, py::module_::import("datetime").attr("timedelta"))) {
        secs = value.attr("total_seconds")().cast<double>();  // pandas.Timedelta too
    } else if (py::isinstance(value, py::module_::import("numbers").attr("Real"))) {
        PyObject* f = PyNumber_Float(value.ptr());  // numpy numbers, fractions
        if (!f) throw py::error_already_set();
        secs = py::reinterpret_steal<py::float_>(f).cast<double>();
    } else {
        throw py::type_error(what + ": expected seconds (float), a duration string like \"30s\" or a timedelta, got " +
                             py::str(py::type::of(value).attr("__name__")).cast<std::string>());
    }
    if (!std::isfinite(secs) || secs < 0)
        throw config_error(what + ": must be a finite number of seconds >= 0, got " + py::repr(value).cast<std::string>());
    if (secs > 1e12) throw config_error(what + ": too long (" + py::repr(value).cast<std::string>() + " s)");
    return duration(static_cast<duration::rep>(std::llround(secs * 1000.0)));
}

double seconds(duration d) { return static_cast<double>(d.count()) / 1000.0; }

py::object to_python(const boost::json::value& v) {
    switch (v.kind()) {
    case boost::json::kind::null: return py::none();
    case boost::json::kind::bool_: return py::bool_(v.get_bool());
    case boost::json::kind::int64: return py::int_(v.get_int64());
    case boost::json::kind::uint64: return py::int_(v.get_uint64());
    case boost::json::kind::double_: return py::float_(v.get_double());
    case boost::json::kind::string: {
        auto& s = v.get_string();
        return py::str(s.data(), s.size());
    }
    case boost::json::kind::array: {
        py::list out;
        for (auto& e : v.get_array()) out.append(to_python(e));
        return out;
    }
    case boost::json::kind::object: {
        py::dict out;
        for (auto& [k, e] : v.get_object()) out[py::str(k.data(), k.size())] = to_python(e);
        return out;
    }
    }
    return py::none();
}

py::module_ import_pandas(const char* for_what) {
    try {
        return py::module_::import("pandas");
    } catch (py::error_already_set& e) {
        if (!e.matches(PyExc_ImportError)) throw;
        PyErr_SetString(PyExc_ImportError,
                        (std::string(for_what) + " needs pandas (Debian: apt-get install python3-pandas)").c_str());
        throw py::error_already_set();
    }
}

}  // namespace drover::python
